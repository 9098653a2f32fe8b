//! What people type that others will read: a name must not be able to
//! change how the text around it reads.

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory as _};

/// Whether `c` could make text read other than it is: a control character
/// (Cc), a format character (Cf: the bidirectional overrides such as
/// U+202E, zero-width spaces and joiners), or a line or paragraph
/// separator (Zl, Zp: U+2028, U+2029).
pub fn is_deceptive(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_zero_widths_separators_and_controls_could_deceive() {
        for c in [
            '\u{202E}', '\u{2066}', '\u{200B}', '\u{FEFF}', '\u{2028}', '\u{2029}', '\n', '\u{7}',
        ] {
            assert!(is_deceptive(c), "{c:?}");
        }
    }

    #[test]
    fn letters_of_any_script_spaces_and_punctuation_cannot() {
        for c in "Clé de Zoë — ВМ 秘密 (1)".chars() {
            assert!(!is_deceptive(c), "{c:?}");
        }
    }
}
