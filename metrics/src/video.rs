//! The decoded-video value every metric reads: RGB8 frames in one contiguous buffer.

use thiserror::Error;

/// A decoded clip: `len` frames of `height × width` RGB8 pixels, row-major, stored
/// contiguously as `[T, H, W, 3]`, with the frame rate it plays at.
#[derive(Clone, PartialEq)]
pub struct Video {
    data: Vec<u8>,
    len: usize,
    width: u32,
    height: u32,
    fps: f64,
}

#[derive(Debug, Error, PartialEq)]
pub enum VideoError {
    #[error("a video needs a positive width and height, got {width}x{height}")]
    EmptyFrame { width: u32, height: u32 },
    #[error("frame rate must be a positive finite number, got {0}")]
    BadFps(f64),
    #[error("pixel buffer of {got} bytes is not a whole number of {width}x{height} RGB frames")]
    Ragged { got: usize, width: u32, height: u32 },
}

impl std::fmt::Debug for Video {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Video({} frames, {}x{}, {} fps)", self.len, self.width, self.height, self.fps)
    }
}

impl Video {
    /// Wraps a `[T, H, W, 3]` RGB8 buffer; the frame count is inferred from its length.
    pub fn new(width: u32, height: u32, fps: f64, data: Vec<u8>) -> Result<Self, VideoError> {
        if width == 0 || height == 0 {
            return Err(VideoError::EmptyFrame { width, height });
        }
        if !(fps.is_finite() && fps > 0.0) {
            return Err(VideoError::BadFps(fps));
        }
        let frame_bytes = width as usize * height as usize * 3;
        if data.len() % frame_bytes != 0 {
            return Err(VideoError::Ragged { got: data.len(), width, height });
        }
        Ok(Self { len: data.len() / frame_bytes, data, width, height, fps })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn fps(&self) -> f64 {
        self.fps
    }

    /// Seconds of playback: frames divided by frame rate.
    pub fn duration_s(&self) -> f64 {
        self.len as f64 / self.fps
    }

    pub fn frame_bytes(&self) -> usize {
        self.width as usize * self.height as usize * 3
    }

    /// The RGB8 pixels of frame `t`, row-major. Panics if `t >= len()` (a caller bug).
    pub fn frame(&self, t: usize) -> &[u8] {
        let n = self.frame_bytes();
        &self.data[t * n..(t + 1) * n]
    }

    pub fn frames(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.data.chunks_exact(self.frame_bytes())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_count_is_inferred_and_ragged_buffers_are_refused() {
        let v = Video::new(4, 2, 8.0, vec![0; 4 * 2 * 3 * 5]).unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v.frame(4).len(), 24);
        assert_eq!(v.duration_s(), 5.0 / 8.0);
        assert_eq!(
            Video::new(4, 2, 8.0, vec![0; 25]).unwrap_err(),
            VideoError::Ragged { got: 25, width: 4, height: 2 }
        );
        assert!(matches!(Video::new(0, 2, 8.0, vec![]), Err(VideoError::EmptyFrame { .. })));
        assert!(matches!(Video::new(2, 2, f64::NAN, vec![]), Err(VideoError::BadFps(_))));
    }
}
