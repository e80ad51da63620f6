//! Shared rules for short human-entered text (names).

/// Trims `raw` and checks it is 1..=`max_chars` characters with no control
/// characters. `None` when it is blank (only white space).
pub(crate) fn short_text(raw: &str, max_chars: usize) -> Result<Option<String>, &'static str> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > max_chars {
        return Err("is longer than allowed");
    }
    if trimmed.chars().any(char::is_control) {
        return Err("contains control characters");
    }
    Ok(Some(trimmed.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::short_text;

    #[test]
    fn blank_is_absent_and_text_is_trimmed() {
        assert_eq!(short_text("   ", 64), Ok(None));
        assert_eq!(
            short_text("  Work laptop ", 64),
            Ok(Some("Work laptop".into()))
        );
    }

    #[test]
    fn counts_characters_not_bytes() {
        let sixty_four_emoji = "🔑".repeat(64);
        assert!(short_text(&sixty_four_emoji, 64).is_ok());
        assert!(short_text(&format!("{sixty_four_emoji}x"), 64).is_err());
    }

    #[test]
    fn refuses_control_characters() {
        assert!(short_text("a\u{0}b", 64).is_err());
        assert!(short_text("line\nbreak", 64).is_err());
    }
}
