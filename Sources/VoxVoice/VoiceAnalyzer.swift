import Foundation
import VoxAudio

/// Settings of the whole analysis: one options struct per algorithm, sharing the frame period.
public struct VoiceAnalysisOptions: Sendable, Equatable {
    /// F0 tracking (its `framePeriod` is the frame period of all features; default 5 ms). Voicing is more
    /// liberal than the tracker's own default (`voicedOdds` 100, see there): for resynthesis a weakly periodic
    /// frame is better periodic than noise.
    public var pitch: PitchTrackerOptions = {
        var o = PitchTrackerOptions()
        o.voicedOdds = 100
        return o
    }()
    /// Spectral envelope (CheapTrick).
    public var envelope = SpectralEnvelopeOptions()
    /// Band aperiodicity (D4C).
    public var aperiodicity = AperiodicityOptions()

    public init() {}
}

/// Splits a voice into `VoiceFeatures`: F0 (PitchTracker), spectral envelope (CheapTrick) and band aperiodicity
/// (D4C), on one frame grid. `Synthesizer` puts them back together.
///
/// Multichannel input is analysed as the mean of its channels (one voice, one F0); the features and the
/// synthesised audio are mono.
public struct VoiceAnalyzer: Sendable {
    public var options: VoiceAnalysisOptions

    public init(options: VoiceAnalysisOptions = VoiceAnalysisOptions()) { self.options = options }

    /// Features of `buffer` (mean of its channels); with `pitch`, that F0 contour (e.g. another tracker's) instead
    /// of the tracker's.
    ///
    /// - Throws: `AudioError` `.empty` for no samples, `.nonFinite` for NaN/∞ samples, `.invalidArgument` for a
    ///   sample rate below 8 kHz or a pitch track of the wrong length.
    public func analyze(_ buffer: AudioBuffer, pitch: PitchTrack? = nil) throws -> VoiceFeatures {
        guard buffer.frameCount > 0 else { throw AudioError(.empty, "no samples to analyse") }
        if let bad = buffer.firstNonFinite() {
            throw AudioError(.nonFinite, "sample \(bad.frame) of channel \(bad.channel) is \(bad.value)")
        }
        guard buffer.sampleRate >= 8000 else {
            throw AudioError(.invalidArgument, "sample rate \(Int(buffer.sampleRate)) Hz is too low for voice analysis (at least 8000 Hz)")
        }
        let x = monoSamples(buffer.channels)
        let fs = buffer.sampleRate
        if let pitch { return try features(samples: x, sampleRate: fs, pitch: pitch) }
        var pitchOptions = options.pitch
        // A low rate caps the highest trackable F0 (the tracker needs 4 samples per period).
        pitchOptions.maximumF0 = min(pitchOptions.maximumF0, min(fs, pitchOptions.analysisRate) / 4)
        let track = try PitchTracker(options: pitchOptions).track(samples: x, sampleRate: fs)
        return try features(samples: x, sampleRate: fs, pitch: track)
    }

    /// Envelope and aperiodicity of a mono signal for a given F0 contour (e.g. an edited or external one).
    public func features(samples x: [Float], sampleRate fs: Double, pitch: PitchTrack) throws -> VoiceFeatures {
        let expected = worldFrameCount(sampleCount: x.count, sampleRate: fs, framePeriod: pitch.framePeriod)
        guard pitch.frameCount == expected else {
            throw AudioError(.invalidArgument, "the pitch track has \(pitch.frameCount) frames; \(x.count) samples need \(expected)")
        }
        let (fftSize, envelope) = SpectralEnvelope(options: options.envelope)
            .analyze(samples: x, sampleRate: fs, f0: pitch.f0, framePeriod: pitch.framePeriod)
        let d4c = Aperiodicity(options: options.aperiodicity)
        let bands = d4c.analyze(samples: x, sampleRate: fs, f0: pitch.f0, framePeriod: pitch.framePeriod)
        return VoiceFeatures(sampleRate: fs, framePeriod: pitch.framePeriod, sampleCount: x.count, f0: pitch.f0,
                             confidence: pitch.confidence, fftSize: fftSize, envelope: envelope,
                             aperiodicityFrequencies: d4c.bandFrequencies(sampleRate: fs), bandAperiodicity: bands)
    }
}
