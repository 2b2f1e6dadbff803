//! The change vocabulary (`crate::change`) bound into SQL: each word enum is written and read
//! as its stored word, so no change word is spelled in a statement.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::change::{Membership, ProductEvent, VariantField};

macro_rules! bind {
    ($t:ty, $what:literal) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<$t> {
                let word = value.as_str()?;
                <$t>::parse(word)
                    .ok_or_else(|| FromSqlError::Other(format!("not {}: {word}", $what).into()))
            }
        }
    };
}

bind!(ProductEvent, "a product event");
bind!(VariantField, "a variant change field");
bind!(Membership, "a membership change");
