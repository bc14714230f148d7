import VoxAudio
import VoxSpectral

/// How masks are extended above the band a model was trained on.
public enum MaskBand: String, Sendable, CaseIterable {
    /// Spleeter's own behaviour: masks are 0 above the modelled band (everything there goes to the last stem).
    case spleeter
    /// Full band: above the modelled band each stem keeps, per frame and channel, its magnitude-weighted mean
    /// mask over the top eighth of the modelled band (9.6–11 kHz for Spleeter).
    case full
}

/// Something that turns a mixture STFT into one soft mask per stem.
///
/// Masks have the spectrogram's shape `(channels, frames, bins)` as real values in [0, 1], stored
/// `mask[(c·frames + t)·bins + k]`. The separator applies them to the mixture STFT; the last stem is taken as the
/// mixture minus the others (in the time domain), so stems always sum to the mixture exactly.
public protocol MaskEstimator: AnyObject {
    /// Stem names; the last one receives the residual.
    var stems: [String] { get }
    /// Rate the estimator works at (Hz); other rates are resampled in and out.
    var sampleRate: Int { get }
    /// Analysis parameters; the separator runs the STFT with them.
    var stftConfiguration: STFTConfiguration { get }
    /// Frames handed to `masks(for:)` at a time (at most).
    var segmentFrames: Int { get }
    /// Segment lengths must be multiples of this (64 for a U-Net with six stride-2 layers).
    var frameQuantum: Int { get }
    /// Soft masks for every stem except the last, for one segment of the mixture STFT
    /// (`frameCount` ≤ `segmentFrames`, a multiple of `frameQuantum`).
    func masks(for segment: ComplexSpectrogram) -> [[Float]]
}
