//! Audible cues: a short rising chime when something worked, a low double beep when the
//! patron must look at the screen. The samples are generated here (no sound files to ship).
//!
//! Playback goes through `rodio` when the crate is built with the `sound` feature (off by
//! default: it pulls in cpal and ALSA's headers). Without the feature, or when there is no
//! audio device (CI, a kiosk with no speaker), [`Sounds`] is silent: it never fails and
//! never panics.

use std::f32::consts::TAU;

/// Sample rate of the generated cues.
pub const SAMPLE_RATE: u32 = 22_050;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// An item borrowed or returned, a PIN accepted.
    Success,
    /// Look at the screen: put an item back, a card refused, the idle warning.
    Attention,
}

/// Mono samples in -1..1 for a cue: sine tones with short fades, so nothing clicks.
pub fn samples(cue: Cue) -> Vec<f32> {
    // (frequency Hz, duration ms); 0 Hz is a pause.
    let notes: &[(f32, u32)] = match cue {
        Cue::Success => &[(880.0, 90), (1318.5, 140)],
        Cue::Attention => &[(440.0, 150), (0.0, 70), (440.0, 150)],
    };
    let mut out = Vec::new();
    for &(freq, ms) in notes {
        let n = (SAMPLE_RATE * ms / 1000) as usize;
        let fade = (SAMPLE_RATE / 200) as usize; // 5 ms
        for i in 0..n {
            if freq == 0.0 {
                out.push(0.0);
                continue;
            }
            let envelope = (i.min(n - 1 - i).min(fade) as f32) / fade as f32;
            let t = i as f32 / SAMPLE_RATE as f32;
            out.push(0.4 * envelope * (TAU * freq * t).sin());
        }
    }
    out
}

/// The cue as a 16-bit mono PCM WAV file (for `aplay`, for tests, for shipping elsewhere).
pub fn wav_bytes(cue: Cue) -> Vec<u8> {
    let pcm: Vec<i16> = samples(cue)
        .iter()
        .map(|s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
        .collect();
    let data_len = (pcm.len() * 2) as u32;
    let mut wav = Vec::with_capacity(44 + pcm.len() * 2);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    wav.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // byte rate
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for s in pcm {
        wav.extend_from_slice(&s.to_le_bytes());
    }
    wav
}

/// Plays cues on the default audio device, or nowhere. Create it on the UI thread and keep
/// it: dropping it closes the device.
pub struct Sounds {
    #[cfg(feature = "sound")]
    device: Option<rodio::MixerDeviceSink>,
}

impl Sounds {
    /// Open the default audio device; silent (with a log line) when there is none.
    pub fn open() -> Sounds {
        #[cfg(feature = "sound")]
        {
            match rodio::DeviceSinkBuilder::open_default_sink() {
                Ok(mut device) => {
                    device.log_on_drop(false);
                    Sounds {
                        device: Some(device),
                    }
                }
                Err(e) => {
                    tracing::info!("no audio device, cues are silent: {e}");
                    Sounds { device: None }
                }
            }
        }
        #[cfg(not(feature = "sound"))]
        {
            tracing::debug!("built without the `sound` feature: cues are silent");
            Sounds {}
        }
    }

    /// A player that never makes a sound.
    pub fn silent() -> Sounds {
        Sounds {
            #[cfg(feature = "sound")]
            device: None,
        }
    }

    pub fn is_silent(&self) -> bool {
        #[cfg(feature = "sound")]
        {
            self.device.is_none()
        }
        #[cfg(not(feature = "sound"))]
        {
            true
        }
    }

    /// Start a cue and return at once; it plays over whatever is playing.
    pub fn play(&self, cue: Cue) {
        #[cfg(feature = "sound")]
        if let Some(device) = &self.device {
            let (Some(channels), Some(rate)) = (
                std::num::NonZero::new(1u16),
                std::num::NonZero::new(SAMPLE_RATE),
            ) else {
                return;
            };
            device.mixer().add(rodio::buffer::SamplesBuffer::new(
                channels,
                rate,
                samples(cue),
            ));
        }
        #[cfg(not(feature = "sound"))]
        let _ = cue;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues_are_short_audible_and_never_clip() {
        for cue in [Cue::Success, Cue::Attention] {
            let s = samples(cue);
            let secs = s.len() as f32 / SAMPLE_RATE as f32;
            assert!((0.1..0.5).contains(&secs), "{cue:?} lasts {secs}s");
            let peak = s.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            assert!(
                peak > 0.3 && peak <= 0.4 + f32::EPSILON,
                "{cue:?} peak {peak}"
            );
            // Fades in and out: no click at either end.
            assert!(s[0].abs() < 0.01 && s[s.len() - 1].abs() < 0.05);
        }
        assert_ne!(samples(Cue::Success), samples(Cue::Attention));
    }

    #[test]
    fn wav_header_matches_the_data() {
        let wav = wav_bytes(Cue::Attention);
        assert_eq!(&wav[0..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        let data_len = u32::from_le_bytes([wav[40], wav[41], wav[42], wav[43]]) as usize;
        assert_eq!(data_len, samples(Cue::Attention).len() * 2);
        assert_eq!(wav.len(), 44 + data_len);
        let riff_len = u32::from_le_bytes([wav[4], wav[5], wav[6], wav[7]]) as usize;
        assert_eq!(riff_len, wav.len() - 8);
    }

    #[test]
    fn silent_player_never_fails() {
        let sounds = Sounds::silent();
        assert!(sounds.is_silent());
        sounds.play(Cue::Success);
        sounds.play(Cue::Attention);
        // Opening the real device must not panic here either (CI has none).
        Sounds::open().play(Cue::Success);
    }
}
