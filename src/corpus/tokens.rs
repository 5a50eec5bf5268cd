//! Splitting a line into word tokens.

use super::*;

/// Whether `c` can be part of a word: a Unicode letter or digit, or a combining mark
/// (General_Category M*), so that scripts such as Devanagari or Thai are not split at
/// vowel signs.
///
/// Common Latin and Cyrillic blocks take a fast path (the general tables are a binary
/// search); a test checks it against the general definition.
#[inline]
pub(super) fn is_word_char(c: char) -> bool {
    match u32::from(c) {
        0..=0x7f => c.is_ascii_alphanumeric(),
        // Latin-1 letters and Latin Extended-A/B: all letters but × and ÷.
        0xc0..=0x24f => c != '\u{d7}' && c != '\u{f7}',
        // Cyrillic: letters and combining marks, except the thousands sign ҂.
        0x400..=0x4ff => c != '\u{482}',
        _ => is_word_char_general(c),
    }
}

/// The definition of a word character: a letter, a digit or a combining mark.
pub(super) fn is_word_char_general(c: char) -> bool {
    c.is_alphanumeric() || c.general_category_group() == GeneralCategoryGroup::Mark
}

/// Apostrophes, hyphens and the zero-width (non-)joiners, kept inside a token only between
/// two word characters. ZWNJ (U+200C) and ZWJ (U+200D) are spelling in Persian and the
/// Indic scripts: "می‌خواهم" is one word with a ZWNJ inside.
#[inline]
pub(super) fn is_joiner(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '-' | '\u{2010}' | '\u{200c}' | '\u{200d}'
    )
}

/// Invisible characters dropped wherever they stand, so that they neither split a word nor
/// end up in it: the soft hyphen (U+00AD, a place where a line may break), the word joiner
/// (U+2060) and the zero-width no-break space (U+FEFF, also a byte-order mark). With them
/// "hy\u{ad}phen" is "hyphen".
#[inline]
pub(super) fn is_ignorable(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{2060}' | '\u{feff}')
}

/// Appends `c` to the token being built, lowercased if asked. Returns whether the character
/// was a capital sigma, which becomes final sigma if it ends a word.
#[inline]
pub(super) fn push_word_char(token: &mut String, c: char, lowercase: bool) -> bool {
    if !lowercase {
        token.push(c);
        false
    } else if c.is_ascii() {
        token.push(c.to_ascii_lowercase());
        false
    } else if c == 'Σ' {
        token.push('σ');
        true
    } else if ('\u{430}'..='\u{45f}').contains(&c) {
        // Lowercase Cyrillic (а-я, ѐ-џ): the common case in Bulgarian or Russian text.
        token.push(c);
        false
    } else {
        token.extend(c.to_lowercase());
        false
    }
}

/// Hands the finished token to `f` and clears it. A lowercased capital sigma at the end of a
/// word (after a letter) becomes final sigma, as `str::to_lowercase` would make it.
#[inline]
pub(super) fn finish_token(
    token: &mut String,
    ends_with_capital_sigma: bool,
    f: &mut impl FnMut(&str),
) {
    if ends_with_capital_sigma {
        let stem_len = token.len() - 'σ'.len_utf8();
        if token[..stem_len]
            .chars()
            .next_back()
            .is_some_and(char::is_alphabetic)
        {
            token.truncate(stem_len);
            token.push('ς');
        }
    }
    f(token);
    token.clear();
}

/// `word` lowercased character by character exactly as [`for_each_token`] lowercases the
/// characters of a token (a capital sigma ending the word after a letter becomes final
/// sigma), or `None` when that changes nothing. Used by [`Vocab::id`](crate::Vocab::id).
pub(crate) fn lowercase_token(word: &str) -> Option<String> {
    if word.is_ascii() {
        return word
            .bytes()
            .any(|b| b.is_ascii_uppercase())
            .then(|| word.to_ascii_lowercase());
    }
    let unchanged = |c: char| {
        if c.is_ascii() {
            return !c.is_ascii_uppercase();
        }
        // Lowercase Cyrillic, as in `push_word_char`: the common case in Bulgarian text.
        if ('\u{430}'..='\u{45f}').contains(&c) {
            return true;
        }
        let mut lower = c.to_lowercase();
        lower.next() == Some(c) && lower.next().is_none()
    };
    if word.chars().all(unchanged) {
        return None;
    }
    let mut token = String::with_capacity(word.len());
    let mut ends_with_capital_sigma = false;
    for c in word.chars() {
        ends_with_capital_sigma = push_word_char(&mut token, c, true);
    }
    let mut lowered = None;
    finish_token(&mut token, ends_with_capital_sigma, &mut |t: &str| {
        lowered = Some(t.to_owned());
    });
    lowered
}

/// Splits `line` into tokens and calls `f` for each, in order.
///
/// A token is a maximal run of word characters: Unicode letters and digits
/// ([`char::is_alphanumeric`]) and combining marks (General_Category M*). An apostrophe
/// (`'` or `’`), hyphen (`-` or `‐`, U+2010) or zero-width (non-)joiner (U+200C, U+200D)
/// stays in a token only when it has a word character on both sides, so "don't",
/// "well-known" and Persian "می‌خواهم" are single tokens while "'quoted'" gives "quoted"
/// and "a--b" gives "a" and "b". The invisible soft hyphen (U+00AD), word joiner (U+2060)
/// and zero-width no-break space (U+FEFF) are dropped. Every other character
/// (punctuation, symbols, whitespace, U+FFFD) separates tokens. Scripts written without
/// spaces (Chinese, Japanese, Thai) are not segmented: a run of such letters is one token.
/// Text is not Unicode-normalised: a "café" written with a combining accent (e, U+0301)
/// and one written with "é" (U+00E9) are two tokens, as they are two strings.
///
/// With `lowercase`, each character is lowercased with [`char::to_lowercase`] (so "İ"
/// becomes "i̇"), except that a capital sigma ending a word becomes final sigma "ς".
///
/// `buffer` is scratch space, reused between calls so that tokenising allocates nothing
/// once it has grown to the longest token; its content on entry is ignored and it is left
/// empty.
///
/// ```
/// use bilinear_skipgram::corpus::for_each_token;
///
/// let mut buffer = String::new();
/// let mut tokens = Vec::new();
/// for_each_token("Don't PANIC — it's well-known!", true, &mut buffer, |t| tokens.push(t.to_owned()));
/// assert_eq!(tokens, ["don't", "panic", "it's", "well-known"]);
/// ```
pub fn for_each_token(line: &str, lowercase: bool, buffer: &mut String, mut f: impl FnMut(&str)) {
    let rest = ascii_tokens(line, lowercase, buffer, &mut f);
    general_tokens(&line[rest..], lowercase, buffer, &mut f);
}

/// The fast path of [`for_each_token`] for ASCII text: hands out the tokens of `line` as
/// long as they and the separators before them are ASCII, as slices of `line` where no
/// lowercasing is needed. Returns the byte offset where a non-ASCII character made it stop
/// (at the start of a token or of a separator run, so [`general_tokens`] can go on from
/// there exactly as if it had read the whole line), or `line.len()`.
#[inline]
pub(super) fn ascii_tokens(
    line: &str,
    lowercase: bool,
    buffer: &mut String,
    f: &mut impl FnMut(&str),
) -> usize {
    let bytes = line.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    loop {
        while i < n && bytes[i].is_ascii() && !bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i == n || !bytes[i].is_ascii() {
            return i;
        }
        let start = i;
        let mut upper = false;
        loop {
            while i < n && bytes[i].is_ascii_alphanumeric() {
                upper |= bytes[i].is_ascii_uppercase();
                i += 1;
            }
            let joined = i + 1 < n
                && (bytes[i] == b'\'' || bytes[i] == b'-')
                && bytes[i + 1].is_ascii_alphanumeric();
            if !joined {
                break;
            }
            i += 1;
        }
        // A non-ASCII character right after the token, or after a joiner that follows
        // it, may continue the token: leave it all to the general path.
        let next = if i < n && (bytes[i] == b'\'' || bytes[i] == b'-') {
            i + 1
        } else {
            i
        };
        if next < n && !bytes[next].is_ascii() {
            return start;
        }
        let token = &line[start..i];
        if lowercase && upper {
            buffer.clear();
            buffer.push_str(token);
            buffer.make_ascii_lowercase();
            f(buffer);
            buffer.clear();
        } else {
            f(token);
        }
    }
}

/// Whether the next character, past any ignorable ones, is a word character.
fn next_is_word_char(chars: &std::iter::Peekable<std::str::Chars<'_>>) -> bool {
    chars
        .clone()
        .find(|&c| !is_ignorable(c))
        .is_some_and(is_word_char)
}

/// [`for_each_token`] for any text, one character at a time.
pub(super) fn general_tokens(
    line: &str,
    lowercase: bool,
    buffer: &mut String,
    mut f: impl FnMut(&str),
) {
    buffer.clear();
    let mut ends_with_capital_sigma = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if is_word_char(c) {
            ends_with_capital_sigma = push_word_char(buffer, c, lowercase);
        } else if is_ignorable(c) {
            continue;
        } else if is_joiner(c) && !buffer.is_empty() && next_is_word_char(&chars) {
            // A non-empty buffer means the previous character (ignorable ones aside) was a
            // word character: any other character either ends the token or is a joiner
            // followed by a word character.
            buffer.push(c);
            ends_with_capital_sigma = false;
        } else if !buffer.is_empty() {
            finish_token(buffer, ends_with_capital_sigma, &mut f);
            ends_with_capital_sigma = false;
        }
    }
    if !buffer.is_empty() {
        finish_token(buffer, ends_with_capital_sigma, &mut f);
    }
}
