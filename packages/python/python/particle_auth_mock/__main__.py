"""``python -m particle_auth_mock [OPTIONS]`` runs the server (the same as the
``particle-auth-mock`` script the wheel installs)."""

import os
import subprocess
import sys

from . import binary_path

if __name__ == "__main__":
    binary = binary_path()
    if os.name == "nt":
        sys.exit(subprocess.call([binary, *sys.argv[1:]]))
    os.execv(binary, [binary, *sys.argv[1:]])
