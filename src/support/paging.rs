//! Paging of the control API's lists: a page is at most [`MAX_PAGE`] items after an
//! opaque cursor (the key of the last item of the previous page), so that no list answer
//! copies a whole table however large it grows.

use std::collections::BinaryHeap;

/// Items in a page when `limit` is not given.
pub(crate) const DEFAULT_PAGE: usize = 100;
/// The largest `limit` accepted.
pub(crate) const MAX_PAGE: usize = 1000;

/// A page asked for: its size and where it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// How many items, 1 ..= [`MAX_PAGE`].
    pub limit: usize,
    /// The `next_cursor` of the previous page; `None`: from the start.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// Checks `limit` (default [`DEFAULT_PAGE`]); the message names the parameter.
    pub(crate) fn new(limit: Option<usize>, cursor: Option<String>) -> Result<Self, String> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(format!("invalid limit: {limit} is outside 1..={MAX_PAGE}"));
        }
        Ok(Self { limit, cursor })
    }

    /// The first page of `limit` items.
    #[cfg(test)]
    pub(crate) fn first(limit: usize) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }
}

/// A page: its items, and the cursor of the next one (`None`: this was the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page<T> {
    /// The items, in key order.
    pub items: Vec<T>,
    /// Pass it as `cursor` to read on; `None` when no item follows.
    pub next_cursor: Option<String>,
}

/// The page of a list already sorted by `key` (small tables: users, clients, …): the
/// items whose key sorts after the cursor, at most `limit` of them.
pub(crate) fn page_of_sorted<T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> String,
    request: &PageRequest,
) -> Page<T> {
    let mut after = items.into_iter().filter(|item| {
        request
            .cursor
            .as_deref()
            .is_none_or(|c| key(item).as_str() > c)
    });
    let items: Vec<T> = after.by_ref().take(request.limit).collect();
    let next_cursor = match (after.next(), items.last()) {
        (Some(_), Some(last)) => Some(key(last)),
        _ => None,
    };
    Page { items, next_cursor }
}

/// The page of a short list kept in its own order (OAuth clients, customers, password
/// resets: at most a few thousand): the cursor is the position reached, so a list changed
/// between two pages may repeat or skip an item. `Err` names a cursor that is not one.
pub(crate) fn page_at_offset<T>(
    items: impl IntoIterator<Item = T>,
    request: &PageRequest,
) -> Result<Page<T>, String> {
    let offset = match request.cursor.as_deref() {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| "invalid cursor: pass a next_cursor unchanged".to_string())?,
    };
    let mut rest = items.into_iter().skip(offset);
    let items: Vec<T> = rest.by_ref().take(request.limit).collect();
    let next_cursor = rest
        .next()
        .map(|_| offset.saturating_add(items.len()).to_string());
    Ok(Page { items, next_cursor })
}

/// The `limit` smallest keys after `after` among `keys` (in no order), sorted, and
/// whether more follow: one pass, O(n log limit) time and O(limit) memory, for a table
/// too large to copy (the rate limiter's clients, the token tables' eviction candidates).
pub(crate) fn smallest_after<K: Ord>(
    keys: impl IntoIterator<Item = K>,
    after: Option<&K>,
    limit: usize,
) -> (Vec<K>, bool) {
    let mut heap = BinaryHeap::with_capacity(limit + 1);
    let mut more = false;
    for key in keys {
        if after.is_some_and(|a| key <= *a) {
            continue;
        }
        if heap.len() < limit {
            heap.push(key);
        } else if heap.peek().is_some_and(|top| key < *top) {
            heap.pop();
            heap.push(key);
            more = true;
        } else {
            more = true;
        }
    }
    (heap.into_sorted_vec(), more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_lists_page_by_the_last_key() {
        let names = ["a", "b", "c", "d", "e"].map(String::from);
        let first = page_of_sorted(names.clone(), Clone::clone, &PageRequest::first(2));
        assert_eq!(first.items, ["a", "b"]);
        assert_eq!(first.next_cursor.as_deref(), Some("b"));
        let next = PageRequest::new(Some(2), first.next_cursor).unwrap();
        let second = page_of_sorted(names.clone(), Clone::clone, &next);
        assert_eq!(second.items, ["c", "d"]);
        let last = PageRequest::new(Some(2), Some("d".into())).unwrap();
        let third = page_of_sorted(names, Clone::clone, &last);
        assert_eq!((third.items, third.next_cursor), (vec!["e".into()], None));
    }

    #[test]
    fn the_smallest_keys_after_the_cursor_come_from_any_order() {
        let keys = [9, 3, 7, 1, 8, 2, 6];
        assert_eq!(smallest_after(keys, None, 3), (vec![1, 2, 3], true));
        assert_eq!(smallest_after(keys, Some(&3), 3), (vec![6, 7, 8], true));
        assert_eq!(smallest_after(keys, Some(&7), 3), (vec![8, 9], false));
    }

    #[test]
    fn short_lists_page_by_position() {
        let first = page_at_offset(1..=5, &PageRequest::first(2)).unwrap();
        assert_eq!(
            (first.items, first.next_cursor.as_deref()),
            (vec![1, 2], Some("2"))
        );
        let last = PageRequest::new(Some(3), Some("2".into())).unwrap();
        let rest = page_at_offset(1..=5, &last).unwrap();
        assert_eq!((rest.items, rest.next_cursor), (vec![3, 4, 5], None));
        let bad = PageRequest::new(None, Some("x".into())).unwrap();
        assert!(page_at_offset(1..=5, &bad).unwrap_err().contains("cursor"));
    }

    #[test]
    fn a_limit_outside_the_range_is_refused_with_its_name() {
        assert_eq!(PageRequest::new(None, None).unwrap().limit, DEFAULT_PAGE);
        let refused = PageRequest::new(Some(0), None).unwrap_err();
        assert!(refused.contains("limit"), "{refused}");
        assert!(PageRequest::new(Some(MAX_PAGE + 1), None).is_err());
    }
}
