//! A statement built from parts, for the two lists whose conditions depend on
//! the request (a cursor, a search).
//!
//! sqlx's `QueryBuilder` lends itself to the query it builds for as long as its
//! own arguments live, which the drop check refuses when the database is a
//! type parameter; a [`Statement`] keeps its values instead and binds them,
//! in order, when it runs. The calls read as `QueryBuilder`'s.

use std::fmt::Write as _;

use sqlx::query::QueryAs;
use sqlx::{Database, Encode, FromRow, Type};

/// A value bound to a placeholder.
pub enum Value {
    Text(String),
    Int(i64),
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

/// SQL text with `$N` placeholders (both databases take them) and their values.
pub struct Statement {
    sql: String,
    values: Vec<Value>,
}

impl Statement {
    pub fn new(sql: impl Into<String>) -> Statement {
        Statement {
            sql: sql.into(),
            values: Vec::new(),
        }
    }

    /// Appends SQL text (never input: values go through [`Statement::push_bind`]).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends the next placeholder and keeps its value.
    pub fn push_bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        // Writing to a String cannot fail.
        let _ = write!(self.sql, "${}", self.values.len());
        self
    }

    /// The query, its values bound in order.
    pub fn query_as<D, O>(&self) -> QueryAs<'_, D, O, D::Arguments<'_>>
    where
        D: Database,
        O: for<'r> FromRow<'r, D::Row>,
        for<'q> &'q str: Encode<'q, D> + Type<D>,
        for<'q> i64: Encode<'q, D> + Type<D>,
    {
        let mut q = sqlx::query_as::<D, O>(&self.sql);
        for v in &self.values {
            q = match v {
                Value::Text(s) => q.bind(s.as_str()),
                Value::Int(n) => q.bind(*n),
            };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_the_values_in_order() {
        let mut st = Statement::new("SELECT 1 WHERE a = ");
        st.push_bind("x".to_string()).push(" AND b < ").push_bind(7i64);
        assert_eq!(st.sql, "SELECT 1 WHERE a = $1 AND b < $2");
        assert!(matches!(st.values.as_slice(), [Value::Text(t), Value::Int(7)] if t == "x"));
    }
}
