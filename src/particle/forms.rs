//! Form fields (`application/x-www-form-urlencoded` bodies and query strings), decoded
//! once into one buffer.

/// Decoded form fields (a body or a query string), in the order sent. Lookups find the
/// first occurrence of a name, so a repeated field keeps its first value. Every name and
/// value lives in one string (one allocation per form, searched in order: cheaper than a
/// hash map of owned strings for the handful of fields a request has).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FormFields {
    /// The decoded names and values, back to back.
    text: String,
    /// Per field, in order: where its name ends and where its value ends in `text` (a
    /// name starts where the previous value ended).
    ends: smallvec::SmallVec<[(usize, usize); 6]>,
}

impl FormFields {
    /// Every field, in the order sent.
    fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let field = (&self.text[start..name_end], &self.text[name_end..value_end]);
            start = value_end;
            field
        })
    }

    /// The first value sent for `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Whether every name and value is at most `max` bytes long (decoded).
    pub(crate) fn within(&self, max: usize) -> bool {
        self.fields().all(|(n, v)| n.len() <= max && v.len() <= max)
    }

    /// How many fields were sent, repeats included.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extend<(K, V)> for FormFields {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (name, value) in pairs {
            self.text.push_str(name.as_ref());
            let name_end = self.text.len();
            self.text.push_str(value.as_ref());
            self.ends.push((name_end, self.text.len()));
        }
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for FormFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut form = Self::default();
        form.extend(pairs);
        form
    }
}

/// Parses a form body (or query string), `application/x-www-form-urlencoded` as the
/// WHATWG URL standard decodes it (invalid UTF-8 is replaced, never refused).
pub(crate) fn parse_form(bytes: &[u8]) -> FormFields {
    // Decoding shortens the text (only invalid UTF-8 lengthens it): one allocation.
    let mut form = FormFields {
        text: String::with_capacity(bytes.len()),
        ends: smallvec::SmallVec::new(),
    };
    form.extend(form_urlencoded::parse(bytes));
    form
}
