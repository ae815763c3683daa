//! A small word-level text encoder trained from scratch with the generator: a closed vocabulary
//! read from the world's captions, learned token and position embeddings, and pre-LN transformer
//! layers. Unknown words map to `<unk>`; the caption is cut at [`TextConfig::max_tokens`].

use candle_core::{Device, Result, Tensor};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::nn::{AffineNorm, Init, Linear, Params, attention, merge_heads, split_heads};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextConfig {
    pub dim: usize,
    pub layers: usize,
    pub heads: usize,
    pub max_tokens: usize,
}

impl TextConfig {
    /// Its sizes in range, the fields named under `at` (`architecture.text`).
    pub fn check(&self, at: &str) -> std::result::Result<(), String> {
        use super::within;
        within(&format!("{at}.dim"), self.dim, 1, 4096)?;
        within(&format!("{at}.layers"), self.layers, 1, 64)?;
        within(&format!("{at}.heads"), self.heads, 1, 64)?;
        within(&format!("{at}.max_tokens"), self.max_tokens, 1, 512)?;
        if self.dim % self.heads != 0 {
            return Err(format!("{at}: dim {} is not a multiple of heads {}", self.dim, self.heads));
        }
        Ok(())
    }
}

impl Default for TextConfig {
    fn default() -> Self {
        Self { dim: 128, layers: 2, heads: 4, max_tokens: 24 }
    }
}

pub const PAD: u32 = 0;
pub const UNK: u32 = 1;

/// Lower-cased alphanumeric words of `text`, letters of any script (CLIP-W listed "café" as the
/// unknown word "caf", and "naïve" as "na" and "ve"), in composed Unicode (NFC): a decomposed
/// "e" + U+0301, as macOS file names and some editors write it, is one letter "é", not a split
/// at a combining mark. ASCII text splits as it always did.
pub fn words(text: &str) -> Vec<String> {
    let text: String = text.nfc().collect();
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The vocabulary: index 0 is padding, 1 is `<unk>`, then the words in the order given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vocab {
    pub words: Vec<String>,
}

impl Vocab {
    /// Every distinct word of `texts`, sorted.
    pub fn build<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut set = std::collections::BTreeSet::new();
        for t in texts {
            set.extend(words(t));
        }
        Self { words: set.into_iter().collect() }
    }

    pub fn len(&self) -> usize {
        self.words.len() + 2
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Token ids of `text`, cut to `max` (no padding).
    pub fn encode(&self, text: &str, max: usize) -> Vec<u32> {
        words(text).iter().take(max).map(|w| self.words.binary_search(w).map_or(UNK, |i| i as u32 + 2)).collect()
    }

    /// How many words of `text` the vocabulary does not know.
    pub fn unknown(&self, text: &str) -> Vec<String> {
        words(text).into_iter().filter(|w| self.words.binary_search(w).is_err()).collect()
    }
}

struct Layer {
    n1: AffineNorm,
    qkv: Linear,
    proj: Linear,
    n2: AffineNorm,
    fc1: Linear,
    fc2: Linear,
}

pub struct TextEncoder {
    pub cfg: TextConfig,
    tok: Tensor,
    pos: Tensor,
    layers: Vec<Layer>,
    out: AffineNorm,
}

/// Token ids of a batch, padded to `len`, and the key mask (1 = real token).
pub struct Tokens {
    pub ids: Tensor,
    pub mask: Tensor,
}

impl Tokens {
    pub fn new(batch: &[Vec<u32>], len: usize, device: &Device) -> Result<Self> {
        let mut ids = Vec::with_capacity(batch.len() * len);
        let mut mask = Vec::with_capacity(batch.len() * len);
        for seq in batch {
            for i in 0..len {
                ids.push(seq.get(i).copied().unwrap_or(PAD));
                mask.push(if i < seq.len() { 1f32 } else { 0.0 });
            }
        }
        Ok(Self {
            ids: Tensor::from_vec(ids, (batch.len(), len), device)?,
            mask: Tensor::from_vec(mask, (batch.len(), len), device)?,
        })
    }
}

/// Additive attention bias [B, 1, 1, L] from a key mask [B, L]: 0 for real keys, −1e4 for padding.
pub fn key_bias(mask: &Tensor) -> Result<Tensor> {
    let (b, l) = mask.dims2()?;
    ((mask - 1.0)? * 1e4)?.reshape((b, 1, 1, l))
}

impl TextEncoder {
    pub fn new(p: &mut Params, cfg: TextConfig, vocab: usize) -> Result<Self> {
        let d = cfg.dim;
        let mut layers = Vec::new();
        for i in 0..cfg.layers {
            let n = format!("text.layers.{i}");
            layers.push(Layer {
                n1: AffineNorm::new(p, &format!("{n}.norm1"), d)?,
                qkv: Linear::new(p, &format!("{n}.qkv"), d, 3 * d)?,
                proj: Linear::new(p, &format!("{n}.proj"), d, d)?,
                n2: AffineNorm::new(p, &format!("{n}.norm2"), d)?,
                fc1: Linear::new(p, &format!("{n}.fc1"), d, 4 * d)?,
                fc2: Linear::new(p, &format!("{n}.fc2"), 4 * d, d)?,
            });
        }
        Ok(Self {
            tok: p.get("text.token_embedding", &[vocab, d], Init::Normal(0.02))?,
            pos: p.get("text.position_embedding", &[cfg.max_tokens, d], Init::Normal(0.02))?,
            layers,
            out: AffineNorm::new(p, "text.norm_out", d)?,
            cfg,
        })
    }

    /// [B, L] ids → [B, L, dim] features.
    pub fn forward(&self, tokens: &Tokens) -> Result<Tensor> {
        let (b, l) = tokens.ids.dims2()?;
        let d = self.cfg.dim;
        let x = self.tok.embedding(&tokens.ids.flatten_all()?)?.reshape((b, l, d))?;
        let mut x = x.broadcast_add(&self.pos.narrow(0, 0, l)?.unsqueeze(0)?)?;
        let bias = key_bias(&tokens.mask)?;
        for layer in &self.layers {
            let h = layer.qkv.forward(&layer.n1.forward(&x)?)?;
            let q = split_heads(&h.narrow(2, 0, d)?, self.cfg.heads)?;
            let k = split_heads(&h.narrow(2, d, d)?, self.cfg.heads)?;
            let v = split_heads(&h.narrow(2, 2 * d, d)?, self.cfg.heads)?;
            let a = merge_heads(&attention(&q, &k, &v, Some(&bias))?)?;
            x = (x + layer.proj.forward(&a)?)?;
            let m = layer.fc2.forward(&layer.fc1.forward(&layer.n2.forward(&x)?)?.silu()?)?;
            x = (x + m)?;
        }
        self.out.forward(&x)
    }

    /// Forward FLOPs for a caption of `l` tokens.
    pub fn flops(&self, l: usize) -> f64 {
        let d = self.cfg.dim as f64;
        let l = l as f64;
        self.cfg.layers as f64 * (2.0 * l * d * (3.0 * d + d + 8.0 * d) + 4.0 * l * l * d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_maps_known_and_unknown_words() {
        let v = Vocab::build(["A red circle falls.", "a blue square rolls to the left"]);
        assert_eq!(words("The Red-ball, falls!"), vec!["the", "red", "ball", "falls"]);
        assert_eq!(words("A naïve CAFÉ, über-red"), vec!["a", "naïve", "café", "über", "red"]);
        // The same words decomposed (NFD) are the same words, not "cafe" and "" split at U+0301.
        assert_eq!(words("A nai\u{308}ve CAFE\u{301}, u\u{308}ber-red"), words("A naïve CAFÉ, über-red"));
        let ids = v.encode("a red ball", 10);
        assert_eq!(ids.len(), 3);
        assert_eq!(ids[2], UNK);
        assert!(ids[0] >= 2 && ids[1] >= 2);
        assert_eq!(v.encode("a a a a", 2).len(), 2);
        assert_eq!(v.unknown("a red ball"), vec!["ball"]);
    }

    #[test]
    fn padding_does_not_change_real_tokens() {
        let dev = Device::Cpu;
        let mut p = Params::init(7, &dev);
        let enc = TextEncoder::new(&mut p, TextConfig { dim: 32, layers: 2, heads: 2, max_tokens: 8 }, 20).unwrap();
        let alone = enc.forward(&Tokens::new(&[vec![3, 4, 5]], 3, &dev).unwrap()).unwrap();
        let padded = enc.forward(&Tokens::new(&[vec![3, 4, 5], vec![6, 7, 8, 9, 10]], 6, &dev).unwrap()).unwrap();
        let a = padded.get(0).unwrap().narrow(0, 0, 3).unwrap();
        let d = (a - alone.get(0).unwrap()).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(d < 1e-4, "{d}");
    }
}
