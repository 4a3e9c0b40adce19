//! The one parser of comma-separated configuration lists (`a, b,,c` → `a`, `b`, `c`).

/// The items of a comma-separated list: trimmed, empty items skipped.
pub fn comma_separated(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_trimmed_and_empty_ones_skipped() {
        let items: Vec<&str> = comma_separated(" a, b,,c ,").collect();
        assert_eq!(items, ["a", "b", "c"]);
        assert_eq!(comma_separated("  ").count(), 0);
    }
}
