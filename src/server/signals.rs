//! [`shutdown_signal`]: what the binary stops on.

use std::future::Future;

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM: what the binary stops on.
///
/// The handlers are installed when this function is called, not when the future is first
/// polled, so a signal sent right after the binary prints its address is never lost (the
/// default action would kill the process instead of stopping it cleanly). Call it inside a
/// Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let interrupt = async {
                match interrupt {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            let terminate = async {
                match terminate {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = interrupt => {},
                () = terminate => {},
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
