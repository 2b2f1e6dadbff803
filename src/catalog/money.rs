//! Exact decimal money amounts as stores send them ("19.99", "1099000.00"): parsed without
//! floating point into hundredths for SQL, with a canonical form for content hashing. An amount
//! that hundredths cannot hold exactly (a non-zero digit past the second decimal, or more than
//! an i64 of hundredths) has no cents: the caller refuses it rather than round or clamp it.

/// A decimal amount parsed from a store's price string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    /// Digits without the decimal point.
    units: i128,
    /// How many of those digits are decimals.
    scale: u32,
}

impl Money {
    /// Parses a plain decimal ("19.99", "-1", "0.5"); None for anything else.
    pub fn parse(text: &str) -> Option<Money> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || whole.len() + fraction.len() > 30
        {
            return None;
        }
        let mut units: i128 = 0;
        for b in whole.bytes().chain(fraction.bytes()) {
            units = units * 10 + i128::from(b - b'0');
        }
        if negative {
            units = -units;
        }
        Some(Money {
            units,
            scale: fraction.len() as u32,
        })
    }

    /// The amount in hundredths, when hundredths hold it exactly: None for a non-zero digit
    /// past the second decimal ("0.001") and for amounts beyond an i64 of hundredths.
    pub fn cents(&self) -> Option<i64> {
        let value = if self.scale <= 2 {
            self.units.checked_mul(10i128.pow(2 - self.scale))?
        } else {
            let divisor = 10i128.pow(self.scale - 2);
            if self.units % divisor != 0 {
                return None;
            }
            self.units / divisor
        };
        i64::try_from(value).ok()
    }

    pub fn is_zero(&self) -> bool {
        self.units == 0
    }

    /// Canonical text: no trailing fractional zeros, so "19.90" and "19.9" hash the same.
    pub fn canonical(&self) -> String {
        let mut units = self.units;
        let mut scale = self.scale;
        while scale > 0 && units % 10 == 0 {
            units /= 10;
            scale -= 1;
        }
        if scale == 0 {
            return units.to_string();
        }
        let sign = if units < 0 { "-" } else { "" };
        let digits = format!("{:0>width$}", units.abs(), width = scale as usize + 1);
        let (whole, fraction) = digits.split_at(digits.len() - scale as usize);
        format!("{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_store_prices_exactly() {
        let cents = |text: &str| Money::parse(text).unwrap().cents();
        assert_eq!(cents("19.99"), Some(1999));
        assert_eq!(cents("1099000.00"), Some(109_900_000));
        assert_eq!(cents("5"), Some(500));
        assert_eq!(cents("0.5"), Some(50));
        assert_eq!(cents("1.500000"), Some(150));
        assert_eq!(cents("-2.50"), Some(-250));
        assert_eq!(cents("92233720368547758.07"), Some(i64::MAX));
    }

    #[test]
    fn amounts_hundredths_cannot_hold_have_no_cents() {
        for text in ["1.005", "0.001", "0.004", "92233720368547758.08", "1e3"] {
            assert_eq!(Money::parse(text).and_then(|m| m.cents()), None, "{text}");
        }
        assert_eq!(
            Money::parse("999999999999999999999999999999")
                .unwrap()
                .cents(),
            None
        );
    }

    #[test]
    fn rejects_non_decimals() {
        for text in ["", ".", "abc", "1e5", "1.2.3", "NaN", "--1"] {
            assert_eq!(Money::parse(text), None, "{text}");
        }
    }

    #[test]
    fn canonical_form_ignores_trailing_zeros() {
        assert_eq!(Money::parse("19.90").unwrap().canonical(), "19.9");
        assert_eq!(Money::parse("19.9").unwrap().canonical(), "19.9");
        assert_eq!(Money::parse("100.00").unwrap().canonical(), "100");
        assert_eq!(Money::parse("0.05").unwrap().canonical(), "0.05");
        assert_eq!(Money::parse("-0.50").unwrap().canonical(), "-0.5");
        assert!(Money::parse("0.00").unwrap().is_zero());
    }
}
