//! `Serialize` and `Deserialize` for [`TrainConfig`], [`Vocab`] and [`OovPolicy`] (the
//! `serde` cargo feature; [`Progress`](crate::Progress) and
//! [`TrainReport`](crate::TrainReport) derive theirs).
//!
//! Deserialising goes through the same checks as building, so no invalid value can come
//! out of it:
//!
//! - [`TrainConfig`] is a map with the keys and values of [`TrainConfig::to_text`]
//!   (`{"dim": 100, "window": 5, "window_mode": "shrink", …}`). A missing key takes the
//!   builder's default (`max_vocab` absent or `null` means no limit; missing subword keys
//!   mean the default subwords, where [`TrainConfig::from_text`], which reads the files
//!   of saved runs, takes a missing `subword_min_n` for a run from before subwords
//!   existed, and so for none); an unknown or
//!   repeated key, a value of the wrong kind, and every value
//!   [`TrainConfigBuilder::build`](crate::TrainConfigBuilder::build) rejects are errors.
//! - [`Vocab`] is `{"words": [...], "counts": [...], "oov": "drop" | "unk"}`, ids in
//!   order; a repeated word, lists of different lengths or an empty list are errors.
//! - [`OovPolicy`] is `"drop"` or `"unk"`.
//!
//! Floats are written exactly; reading them back to the same bits is up to the format's
//! parser. serde_json's default parser can miss an `f64` by one unit in the last place (a
//! report's condition number did); its `float_roundtrip` feature makes it exact.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::config::{FieldValue, TrainConfig, oov_name, set_field};
use crate::vocab::{OovPolicy, Vocab};

impl Serialize for FieldValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            FieldValue::Int(n) => serializer.serialize_u64(n),
            FieldValue::F32(x) => serializer.serialize_f32(x),
            FieldValue::F64(x) => serializer.serialize_f64(x),
            FieldValue::Bool(b) => serializer.serialize_bool(b),
            FieldValue::Name(name) => serializer.serialize_str(name),
        }
    }
}

impl Serialize for TrainConfig {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.fields())
    }
}

/// A configuration value as the data format gives it, before its field says what it must
/// be.
enum Untyped {
    Int(u64),
    Negative(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Null,
}

impl Untyped {
    /// The value as the kind of `like`, if it is one.
    fn typed<'a>(&'a self, like: FieldValue<'_>) -> Option<FieldValue<'a>> {
        Some(match (like, self) {
            (FieldValue::Int(_), Untyped::Int(n)) => FieldValue::Int(*n),
            (FieldValue::F32(_), Untyped::Int(n)) => FieldValue::F32(*n as f32),
            (FieldValue::F32(_), Untyped::Negative(n)) => FieldValue::F32(*n as f32),
            (FieldValue::F32(_), Untyped::Float(x)) => FieldValue::F32(*x as f32),
            (FieldValue::F64(_), Untyped::Int(n)) => FieldValue::F64(*n as f64),
            (FieldValue::F64(_), Untyped::Negative(n)) => FieldValue::F64(*n as f64),
            (FieldValue::F64(_), Untyped::Float(x)) => FieldValue::F64(*x),
            (FieldValue::Bool(_), Untyped::Bool(b)) => FieldValue::Bool(*b),
            (FieldValue::Name(_), Untyped::Text(text)) => FieldValue::Name(text),
            _ => return None,
        })
    }

    fn describe(&self) -> String {
        match self {
            Untyped::Int(n) => n.to_string(),
            Untyped::Negative(n) => n.to_string(),
            Untyped::Float(x) => format!("{x:?}"),
            Untyped::Bool(b) => b.to_string(),
            Untyped::Text(text) => format!("{text:?}"),
            Untyped::Null => "null".to_owned(),
        }
    }
}

impl<'de> Deserialize<'de> for Untyped {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UntypedVisitor;
        impl<'de> Visitor<'de> for UntypedVisitor {
            type Value = Untyped;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a boolean, a string or null")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Untyped, E> {
                Ok(Untyped::Int(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Untyped, E> {
                Ok(u64::try_from(n).map_or(Untyped::Negative(n), Untyped::Int))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Untyped, E> {
                Ok(Untyped::Float(x))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Untyped, E> {
                Ok(Untyped::Bool(b))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Untyped, E> {
                Ok(Untyped::Text(text.to_owned()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Untyped, E> {
                Ok(Untyped::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Untyped, E> {
                Ok(Untyped::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Untyped, D::Error> {
                Untyped::deserialize(d)
            }
        }
        deserializer.deserialize_any(UntypedVisitor)
    }
}

impl<'de> Deserialize<'de> for TrainConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ConfigVisitor;
        impl<'de> Visitor<'de> for ConfigVisitor {
            type Value = TrainConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of training configuration fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TrainConfig, A::Error> {
                let defaults = TrainConfig::default();
                let kinds: Vec<(&'static str, FieldValue<'static>)> = defaults
                    .fields()
                    .into_iter()
                    .filter(|&(key, _)| key != "max_vocab")
                    .chain([("max_vocab", FieldValue::Int(0))])
                    .collect();
                let mut config = defaults;
                let mut seen: Vec<String> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let value: Untyped = map.next_value()?;
                    if seen.contains(&key) {
                        return Err(de::Error::custom(format!("`{key}` is given twice")));
                    }
                    let Some(&(_, like)) = kinds.iter().find(|(k, _)| *k == key) else {
                        return Err(de::Error::custom(format!("unknown key `{key}`")));
                    };
                    let bad = || {
                        de::Error::custom(format!("bad value for `{key}`: {}", value.describe()))
                    };
                    // `max_vocab: null` is no limit, as when the key is absent (the default).
                    if !(key == "max_vocab" && matches!(value, Untyped::Null)) {
                        let typed = value.typed(like).ok_or_else(bad)?;
                        set_field(&mut config, &key, typed).ok_or_else(bad)?;
                    }
                    seen.push(key);
                }
                config.to_builder().build().map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_map(ConfigVisitor)
    }
}

impl Serialize for OovPolicy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(oov_name(*self))
    }
}

impl<'de> Deserialize<'de> for OovPolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        [OovPolicy::Drop, OovPolicy::Unk]
            .into_iter()
            .find(|&oov| oov_name(oov) == name)
            .ok_or_else(|| de::Error::unknown_variant(&name, &["drop", "unk"]))
    }
}

impl Serialize for Vocab {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("Vocab", 3)?;
        state.serialize_field("words", self.words())?;
        state.serialize_field("counts", self.counts())?;
        state.serialize_field("oov", &self.oov_policy())?;
        state.end()
    }
}

/// A [`Vocab`] as serialised, before its checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabFields {
    words: Vec<String>,
    counts: Vec<u64>,
    oov: OovPolicy,
}

impl<'de> Deserialize<'de> for Vocab {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let VocabFields { words, counts, oov } = VocabFields::deserialize(deserializer)?;
        if words.len() != counts.len() {
            return Err(de::Error::custom(format!(
                "{} words but {} counts",
                words.len(),
                counts.len()
            )));
        }
        let n_words = words.len();
        let mut seen = std::collections::HashSet::with_capacity(n_words);
        if let Some(word) = words.iter().find(|w| !seen.insert(w.as_str())) {
            return Err(de::Error::custom(format!(
                "word {word:?} appears more than once"
            )));
        }
        drop(seen);
        let vocab =
            Vocab::from_counts(words.into_iter().zip(counts), oov).map_err(de::Error::custom)?;
        if vocab.len() != n_words {
            // Only `<UNK>` can be added, and only when the unknown entry was missing.
            return Err(de::Error::custom(
                "an OovPolicy::Unk vocabulary without its <UNK> entry",
            ));
        }
        Ok(vocab)
    }
}
