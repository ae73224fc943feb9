//! Typed columns: an s-op's values for a batch as one plain vector per kind
//! of atom (`i64`, `f64`, `bool`, packed strings) when all its atoms have
//! that kind, so that the elementwise kernels run over plain machine values
//! (and vectorize); a column that mixes kinds (an aggregate's ints and means)
//! keeps tagged [`Val`]s. [`View`] reads any column, or an atom broadcast
//! over positions, without copying.

use super::kernels::{self, BOOL, FLOAT, INT, LONG_STR, STR};
use super::value::{self, Str, Val};

/// One s-op's buffer.
#[derive(Clone, Debug)]
pub enum Col {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Str(Vec<Str>),
    Any(Vec<Val>),
}

impl Default for Col {
    fn default() -> Col {
        Col::Any(vec![])
    }
}

/// Reads a column, or an atom broadcast over `len` positions.
#[derive(Clone, Copy, Debug)]
pub enum View<'a> {
    Int(&'a [i64]),
    Float(&'a [f64]),
    Bool(&'a [bool]),
    Str(&'a [Str]),
    Any(&'a [Val]),
    Atom(Val, usize),
}

/// Defines `Col::NAME(&mut self) -> &mut Vec<T>`: the column emptied as variant `V`,
/// keeping its allocation when it already is one.
macro_rules! buffer {
    ($name:ident, $v:ident, $t:ty) => {
        pub fn $name(&mut self) -> &mut Vec<$t> {
            if !matches!(self, Col::$v(_)) {
                *self = Col::$v(vec![]);
            }
            match self {
                Col::$v(v) => {
                    v.clear();
                    v
                }
                _ => unreachable!("just made"),
            }
        }
    };
}

impl Col {
    buffer!(ints, Int, i64);
    buffer!(floats, Float, f64);
    buffer!(bools, Bool, bool);
    buffer!(strs, Str, Str);
    buffer!(vals, Any, Val);

    pub fn view(&self) -> View<'_> {
        match self {
            Col::Int(v) => View::Int(v),
            Col::Float(v) => View::Float(v),
            Col::Bool(v) => View::Bool(v),
            Col::Str(v) => View::Str(v),
            Col::Any(v) => View::Any(v),
        }
    }

    /// `vals` (whose kinds are `flags`) stored typed when they are of one kind; a mix is
    /// swapped in (`vals` then holds the column's old buffer).
    pub fn set_vals(&mut self, vals: &mut Vec<Val>, flags: u8) {
        match flags {
            INT => self.ints().extend(vals.iter().map(|v| if let Val::Int(i) = v { *i } else { 0 })),
            FLOAT => self.floats().extend(vals.iter().map(|v| if let Val::Float(f) = v { *f } else { 0.0 })),
            BOOL => self.bools().extend(vals.iter().map(|v| matches!(v, Val::Bool(true)))),
            STR | LONG_STR | kernels::STRS => {
                self.strs().extend(vals.iter().map(|v| if let Val::Str(s) = v { *s } else { Str::EMPTY }))
            }
            _ => std::mem::swap(self.vals(), vals),
        }
    }
}

impl<'a> View<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            View::Int(v) => v.len(),
            View::Float(v) => v.len(),
            View::Bool(v) => v.len(),
            View::Str(v) => v.len(),
            View::Any(v) => v.len(),
            View::Atom(_, n) => *n,
        }
    }

    /// Atom `k`.
    #[inline]
    pub fn get(&self, k: usize) -> Val {
        match self {
            View::Int(v) => Val::Int(v[k]),
            View::Float(v) => Val::Float(v[k]),
            View::Bool(v) => Val::Bool(v[k]),
            View::Str(v) => Val::Str(v[k]),
            View::Any(v) => v[k],
            View::Atom(a, _) => *a,
        }
    }

    /// Positions `start..end`.
    #[inline]
    pub fn slice(&self, start: usize, end: usize) -> View<'a> {
        match *self {
            View::Int(v) => View::Int(&v[start..end]),
            View::Float(v) => View::Float(&v[start..end]),
            View::Bool(v) => View::Bool(&v[start..end]),
            View::Str(v) => View::Str(&v[start..end]),
            View::Any(v) => View::Any(&v[start..end]),
            View::Atom(a, _) => View::Atom(a, end - start),
        }
    }

    /// The atoms as tagged values: the column itself when it holds them, else written into `buf`.
    pub fn vals<'b>(&self, buf: &'b mut Vec<Val>) -> &'b [Val]
    where
        'a: 'b,
    {
        if let View::Any(v) = *self {
            return v;
        }
        buf.clear();
        self.append_to(buf);
        buf
    }

    /// Appends the atoms, as tagged values, to `out`.
    pub fn append_to(&self, out: &mut Vec<Val>) {
        match *self {
            View::Int(v) => out.extend(v.iter().map(|i| Val::Int(*i))),
            View::Float(v) => out.extend(v.iter().map(|f| Val::Float(*f))),
            View::Bool(v) => out.extend(v.iter().map(|b| Val::Bool(*b))),
            View::Str(v) => out.extend(v.iter().map(|s| Val::Str(*s))),
            View::Any(v) => out.extend_from_slice(v),
            View::Atom(a, n) => out.extend(std::iter::repeat_n(a, n)),
        }
    }

    /// Python truthiness of every atom, into `buf`.
    pub fn truth<'b>(&self, buf: &'b mut Vec<bool>) -> &'b [bool]
    where
        'a: 'b,
    {
        if let View::Bool(v) = *self {
            return v;
        }
        buf.clear();
        match *self {
            View::Int(v) => buf.extend(v.iter().map(|i| *i != 0)),
            View::Float(v) => buf.extend(v.iter().map(|f| *f != 0.0)),
            View::Str(v) => buf.extend(v.iter().map(|s| !s.is_empty())),
            View::Any(v) => buf.extend(v.iter().map(|x| x.truthy())),
            View::Atom(a, n) => buf.resize(n, a.truthy()),
            View::Bool(_) => unreachable!("returned above"),
        }
        buf
    }

    /// Every atom as the selector kernels order them (see `kernels::as_int`), into `buf`.
    pub fn as_ints(&self, buf: &mut Vec<i64>) {
        buf.clear();
        match *self {
            View::Int(v) => buf.extend_from_slice(v),
            View::Bool(v) => buf.extend(v.iter().map(|b| *b as i64)),
            View::Str(v) => buf.extend(v.iter().map(|s| kernels::as_int(Val::Str(*s)))),
            View::Float(v) => buf.extend(v.iter().map(|f| kernels::as_int(Val::Float(*f)))),
            View::Any(v) => buf.extend(v.iter().map(|x| kernels::as_int(*x))),
            View::Atom(a, n) => buf.resize(n, kernels::as_int(a)),
        }
    }

    /// The kinds of atoms held ([`kernels::flags`]).
    pub fn flags(&self) -> u8 {
        match *self {
            View::Int(_) => INT,
            View::Float(_) => FLOAT,
            View::Bool(_) => BOOL,
            View::Str(v) => v.iter().fold(0, |f, s| f | if value::is_inline(*s) { STR } else { LONG_STR }),
            View::Any(v) => kernels::flags(v),
            View::Atom(a, _) => kernels::flag(a),
        }
    }
}
