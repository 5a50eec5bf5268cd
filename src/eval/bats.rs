//! The Bigger Analogy Test Set (BATS, Gladkova et al. 2016), evaluated pairwise within each
//! relation.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use super::analogy::{AnalogyMethod, AnalogyReport, AnalogySearch, IdSection, score_sections};
use super::lines::{MalformedPolicy, Rejection, dataset_name, open, read_lines};
use crate::error::Result;

/// One row of a BATS relation: a word and the answers accepted for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatsRow {
    /// The source word, as written in the file.
    pub word: String,
    /// The accepted targets, in file order (`/`-separated in the file).
    pub targets: Vec<String>,
}

/// A BATS relation, such as `E01 [country - capital]`, with its rows (50 in BATS 3.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatsRelation {
    /// The relation's id, such as `E01`.
    pub id: String,
    /// Its name, such as `country - capital` (empty if the file has no `relation` column).
    pub name: String,
    /// Its category, such as `3_encyclopedic_semantics` (empty if the file has no
    /// `category` column).
    pub category: String,
    /// Its rows, in file order.
    pub rows: Vec<BatsRow>,
}

impl BatsRelation {
    /// `ID [name]`, as BATS names its files, or the id alone if there is no name.
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            self.id.clone()
        } else {
            format!("{} [{}]", self.id, self.name)
        }
    }
}

/// BATS as one tab-separated file: a header naming at least the columns `relation_id`,
/// `word` and `targets` (`relation` and `category` are read if present), then one row per
/// word, `targets` holding the accepted answers separated by `/`.
///
/// [`evaluate`](Self::evaluate) asks, within each relation, a : a′ :: b : ? for every
/// ordered pair of distinct rows (a, a′) and (b, b′); see there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatsDataset {
    name: String,
    relations: Vec<BatsRelation>,
    malformed_lines: Vec<u64>,
}

/// Positions of the columns in a BATS file.
struct Columns {
    n: usize,
    relation_id: usize,
    relation: Option<usize>,
    category: Option<usize>,
    word: usize,
    targets: usize,
}

impl Columns {
    fn from_header(line: &str) -> Result<Columns, Rejection> {
        let names: Vec<String> = line.split('\t').map(|f| f.trim().to_lowercase()).collect();
        let find = |name: &str| names.iter().position(|n| n == name);
        match (find("relation_id"), find("word"), find("targets")) {
            (Some(relation_id), Some(word), Some(targets)) => Ok(Columns {
                n: names.len(),
                relation_id,
                relation: find("relation"),
                category: find("category"),
                word,
                targets,
            }),
            _ => Err(Rejection::Fatal(format!(
                "the header must name the tab-separated columns relation_id, word and targets; found {line:?}"
            ))),
        }
    }
}

impl BatsDataset {
    /// Reads a BATS file. The dataset is named after the file, without its extension.
    ///
    /// # Errors
    ///
    /// [`Error::File`](crate::Error::File) when the file cannot be opened or read (a folder,
    /// for one; a pipe is read as it comes); [`Error::Parse`](crate::Error::Parse) for a
    /// line longer than [`MAX_LINE_BYTES`](crate::io::MAX_LINE_BYTES) (so `/dev/zero` is an
    /// error at once);
    /// [`Error::Parse`](crate::Error::Parse) naming the file, the line and its text when
    /// the header lacks a required column, and under [`MalformedPolicy::Strict`] for the
    /// first row without as many fields as the header, with an empty relation id or word,
    /// or without a target.
    ///
    /// # Example
    ///
    /// ```
    /// use bilinear_skipgram::{eval::BatsDataset, eval::MalformedPolicy};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("bats.tsv");
    /// std::fs::write(&path, "relation_id\trelation\tcategory\tword\ttargets\n\
    ///     E01\tcountry - capital\tencyclopedic\tathens\tgreece\n\
    ///     D01\tnoun+less_reg\tderivational\todor\todorless/odourless\n")?;
    /// let set = BatsDataset::read(&path, MalformedPolicy::Strict)?;
    /// assert_eq!(set.relations()[1].label(), "D01 [noun+less_reg]");
    /// assert_eq!(set.relations()[1].rows[0].targets, ["odorless", "odourless"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read(path: impl AsRef<Path>, policy: MalformedPolicy) -> Result<Self> {
        let path = path.as_ref();
        Self::from_reader(open(path)?, path, policy)
    }

    /// Reads a BATS file from `reader`; `path` names it in errors and gives the dataset its
    /// name.
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read), without the failure to open.
    pub fn from_reader(
        reader: impl BufRead,
        path: impl AsRef<Path>,
        policy: MalformedPolicy,
    ) -> Result<Self> {
        let path = path.as_ref();
        let mut columns: Option<Columns> = None;
        let mut relations: Vec<BatsRelation> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let malformed_lines = read_lines(reader, path, policy, |_, line| {
            let Some(cols) = &columns else {
                columns = Some(Columns::from_header(line)?);
                return Ok(());
            };
            let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
            if fields.len() != cols.n {
                return Err(Rejection::Malformed(format!(
                    "expected {} tab-separated fields as in the header, found {}: {line:?}",
                    cols.n,
                    fields.len()
                )));
            }
            let field = |i: Option<usize>| i.and_then(|i| fields.get(i)).copied().unwrap_or("");
            let (id, word) = (field(Some(cols.relation_id)), field(Some(cols.word)));
            if id.is_empty() || word.is_empty() {
                return Err(Rejection::Malformed(format!(
                    "empty relation_id or word in {line:?}"
                )));
            }
            let targets: Vec<String> = field(Some(cols.targets))
                .split('/')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
            if targets.is_empty() {
                return Err(Rejection::Malformed(format!("no target in {line:?}")));
            }
            let at = *index.entry(id.to_owned()).or_insert_with(|| {
                relations.push(BatsRelation {
                    id: id.to_owned(),
                    name: field(cols.relation).to_owned(),
                    category: field(cols.category).to_owned(),
                    rows: Vec::new(),
                });
                relations.len() - 1
            });
            if let Some(relation) = relations.get_mut(at) {
                relation.rows.push(BatsRow {
                    word: word.to_owned(),
                    targets,
                });
            }
            Ok(())
        })?;
        Ok(BatsDataset {
            name: dataset_name(path),
            relations,
            malformed_lines,
        })
    }

    /// A dataset from relations in memory.
    pub fn from_relations(name: impl Into<String>, relations: Vec<BatsRelation>) -> Self {
        BatsDataset {
            name: name.into(),
            relations,
            malformed_lines: Vec::new(),
        }
    }

    /// The dataset's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The relations, in order of first appearance.
    pub fn relations(&self) -> &[BatsRelation] {
        &self.relations
    }

    /// One-based numbers of the lines skipped as malformed under [`MalformedPolicy::Skip`].
    pub fn malformed_lines(&self) -> &[u64] {
        &self.malformed_lines
    }

    /// Pairwise evaluation: within each relation, for every ordered pair of distinct rows
    /// (a, a′) and (b, b′), asks a : a′₁ :: b : ?, where a′₁ is the first target of a that
    /// is among the search's candidates; the answer is correct if it is any target of b.
    /// A relation of `r` rows has `r (r − 1)` questions.
    ///
    /// A question is covered, and asked, when a, a′₁, b and at least one target of b are
    /// among the candidates. All questions go in one batch. One report per method, with
    /// one [`SectionScore`](crate::eval::SectionScore) per relation named by
    /// [`BatsRelation::label`]; the BATS score is
    /// [`AnalogyReport::mean_accuracy`], the mean over relations.
    pub fn evaluate(
        &self,
        search: &AnalogySearch<'_>,
        methods: &[AnalogyMethod],
    ) -> Vec<AnalogyReport> {
        let sections: Vec<IdSection> = self
            .relations
            .iter()
            .map(|relation| {
                // Per row: the word's id, its first target's id, and all targets' ids.
                let rows: Vec<(Option<usize>, Option<usize>, Vec<usize>)> = relation
                    .rows
                    .iter()
                    .map(|row| {
                        let targets: Vec<usize> = row
                            .targets
                            .iter()
                            .filter_map(|t| search.word_id(t))
                            .collect();
                        (search.word_id(&row.word), targets.first().copied(), targets)
                    })
                    .collect();
                let mut covered = Vec::new();
                for (i, (a, a_target, _)) in rows.iter().enumerate() {
                    let (Some(a), Some(a_target)) = (*a, *a_target) else {
                        continue;
                    };
                    for (j, (b, _, b_targets)) in rows.iter().enumerate() {
                        if let Some(b) = *b
                            && i != j
                            && !b_targets.is_empty()
                        {
                            covered.push(([a, a_target, b], b_targets.clone()));
                        }
                    }
                }
                let n = relation.rows.len();
                IdSection {
                    name: relation.label(),
                    n_questions: n * n.saturating_sub(1),
                    covered,
                }
            })
            .collect();
        score_sections(search, &sections, methods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, policy: MalformedPolicy) -> Result<BatsDataset> {
        BatsDataset::from_reader(text.as_bytes(), Path::new("b.tsv"), policy)
    }

    #[test]
    fn header_columns_found_by_name_and_rows_grouped() {
        let set = read(
            "word\ttargets\trelation_id\n\
             a\tx/ y /\tR2\n\
             b\tz\tR1\n\
             c\tw\tR2\n",
            MalformedPolicy::Strict,
        )
        .expect("reads");
        assert_eq!(set.name(), "b");
        let r = set.relations();
        assert_eq!((r[0].id.as_str(), r[0].rows.len()), ("R2", 2));
        assert_eq!(r[0].rows[0].targets, ["x", "y"]);
        assert_eq!(r[0].label(), "R2");
        assert_eq!(r[1].rows[0].word, "b");
    }

    #[test]
    fn bad_header_is_fatal_and_bad_rows_follow_the_policy() {
        let err = read("relation_id\tword\n", MalformedPolicy::Skip).expect_err("no targets");
        assert!(err.to_string().starts_with("b.tsv:1: the header"), "{err}");
        let text = "relation_id\tword\ttargets\nR\ta\tb\nR\tc\nR\td\t/\nR\t\tx\n";
        let err = read(text, MalformedPolicy::Strict).expect_err("strict");
        assert_eq!(
            err.to_string(),
            "b.tsv:3: expected 3 tab-separated fields as in the header, found 2: \"R\\tc\""
        );
        let set = read(text, MalformedPolicy::Skip).expect("skips");
        assert_eq!(set.malformed_lines(), [3, 4, 5]);
        assert_eq!(set.relations()[0].rows.len(), 1);
    }
}
