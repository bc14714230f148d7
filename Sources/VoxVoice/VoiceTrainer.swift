import Foundation
import VoxAudio

/// What the training material looks like, per file and overall: enough voice? clean? dry? which range?
public struct TrainingAudit: Codable, Sendable, Equatable {
    /// Measured indicators of one file. Levels are frame RMS (10 ms) in dBFS.
    public struct File: Codable, Sendable, Equatable {
        public var name: String
        public var seconds: Double
        public var sampleRate: Double
        public var channels: Int
        /// Duration of voiced (pitched) frames (s): the part that trains the timbre.
        public var voicedSeconds: Double
        /// Share of samples at or above 0.999 full scale.
        public var clippedFraction: Double
        /// Share of frames more than 40 dB below the file's loud frames (95th percentile).
        public var silentFraction: Double
        /// 5th percentile of the frame levels that are not digital silence (dBFS): the noise floor.
        public var noiseFloorDBFS: Double?
        /// Median level of unvoiced, non-silent frames minus the median voiced level (dB). A clean vocal's
        /// consonants and breaths sit 15–30 dB below its vowels; leftover accompaniment fills the gaps and
        /// raises this towards 0.
        public var backgroundDB: Double?
        /// Median periodicity of voiced frames (0…1, `PitchTrack.confidence`): harmonies and accompaniment under
        /// the voice lower it.
        public var voicedPeriodicity: Double?
        /// Median level drop 100–250 ms after the ends of voiced phrases followed by a pause (dB): a dry voice
        /// falls to the noise floor (30 dB or more), reverberation holds the level up.
        public var offsetDecayDB: Double?
        /// F0 range (5th–95th percentile, Hz), nil without voiced frames.
        public var pitchP5Hz: Double?
        public var pitchP95Hz: Double?
        public var warnings: [String]
    }

    public var files: [File]
    public var seconds: Double
    public var voicedSeconds: Double
    /// F0 range over all files (5th–95th percentile, Hz).
    public var pitchP5Hz: Double?
    public var pitchP95Hz: Double?
    /// Warnings about the whole set (per-file warnings are in `files`).
    public var warnings: [String]
}

/// Settings of voice training.
public struct VoiceTrainingOptions: Sendable, Equatable {
    /// Less voiced audio than this (s) is refused. Default 10.
    public var minimumVoicedSeconds = 10.0
    /// Less voiced audio than this (s) gets a warning. Default 180.
    public var recommendedVoicedSeconds = 180.0
    /// Cepstral coefficients per bank frame (c0 included). Default 40.
    public var cepstrumOrder = 40
    /// Mel points the cepstrum is computed from. Default 128.
    public var melPointCount = 128
    /// Most voiced frames kept in the bank (evenly subsampled beyond): bounds conversion time. Default 12000
    /// (one minute of voiced frames at 5 ms).
    public var maximumVoicedFrames = 12_000
    /// Most unvoiced (consonant, breath) frames kept. Default 4000.
    public var maximumUnvoicedFrames = 4_000
    /// Frames this far below the file's loud frames (dB) are silence and stay out of the bank. Default 40.
    public var silenceDB = 40.0
    /// Vocoder analysis settings (`VoiceAnalysisOptions.voiceConversion`, as conversion uses).
    public var analysis = VoiceAnalysisOptions.voiceConversion

    public init() {}
}

/// One training recording.
public struct TrainingInput: Sendable {
    /// File name (shown in the audit and stored in the fingerprint).
    public var name: String
    public var audio: AudioBuffer
    /// SHA-256 of the file's bytes.
    public var sha256: String

    public init(name: String, audio: AudioBuffer, sha256: String) {
        self.name = name
        self.audio = audio
        self.sha256 = sha256
    }
}

/// The analysed material: features of every file at the bank rate, and the audit.
public struct TrainingAnalysis: Sendable {
    public var audit: TrainingAudit
    /// Rate (Hz) the features were analysed at (the rate most of the material has; other files are resampled).
    public var sampleRate: Double
    public var features: [VoiceFeatures]
    /// Frame levels (dBFS) per file, on the features' frame grid.
    var levels: [[Float]]
    var fingerprint: TrainingFingerprint
}

/// Learns a voice from recordings of it: audits the material, analyses it with the vocoder and builds the frame
/// bank and statistics of a `VoiceModel`.
public struct VoiceTrainer: Sendable {
    public var options: VoiceTrainingOptions

    public init(options: VoiceTrainingOptions = VoiceTrainingOptions()) { self.options = options }

    /// Analyses and audits `inputs`. Never refuses: the caller prints the audit, then `train` decides.
    ///
    /// - Throws: `AudioError` for no input, non-finite samples or an unusable sample rate (naming the file).
    public func analyze(_ inputs: [TrainingInput]) throws -> TrainingAnalysis {
        guard !inputs.isEmpty else { throw AudioError(.invalidArgument, "no training audio given") }
        // The bank's rate: the rate carrying the most audio.
        var byRate = [Double: Double]()
        for i in inputs { byRate[i.audio.sampleRate, default: 0] += i.audio.duration }
        let rate = byRate.max { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }!.key
        let analyzer = VoiceAnalyzer(options: options.analysis)
        var files = [TrainingAudit.File](), features = [VoiceFeatures](), levels = [[Float]]()
        var allF0 = [Float]()
        for input in inputs {
            do {
                guard input.audio.frameCount > 0 else { throw AudioError(.empty, "no samples") }
                let mono = AudioBuffer(channels: [monoSamples(input.audio.channels)], sampleRate: input.audio.sampleRate)
                let audio = mono.sampleRate == rate ? mono : try Resampler.resample(mono, to: rate)
                let f = try analyzer.analyze(audio)
                let lv = frameLevels(audio.channels[0], sampleRate: rate, framePeriod: f.framePeriod, count: f.frameCount)
                files.append(auditFile(input, features: f, levels: lv))
                features.append(f)
                levels.append(lv)
                allF0 += f.f0
            } catch let e as AudioError {
                throw AudioError(e.kind, path: input.name, e.message)
            }
        }
        let voiced = files.reduce(0) { $0 + $1.voicedSeconds }
        var warnings = [String]()
        if voiced < options.minimumVoicedSeconds {
            warnings.append(String(format: "only %.1f s of voiced audio: at least %.0f s is needed", voiced, options.minimumVoicedSeconds))
        } else if voiced < options.recommendedVoicedSeconds {
            warnings.append(String(format: "%.0f s of voiced audio: %.0f s or more gives a better model", voiced, options.recommendedVoicedSeconds))
        }
        let range = PitchRange(f0: allF0)
        let audit = TrainingAudit(files: files, seconds: files.reduce(0) { $0 + $1.seconds }, voicedSeconds: voiced,
                                  pitchP5Hz: range?.p5Hz, pitchP95Hz: range?.p95Hz, warnings: warnings)
        let fingerprint = TrainingFingerprint(files: inputs.map {
            TrainingFingerprint.File(name: $0.name, sha256: $0.sha256, seconds: $0.audio.duration)
        })
        return TrainingAnalysis(audit: audit, sampleRate: rate, features: features, levels: levels, fingerprint: fingerprint)
    }

    /// Builds the voice model from analysed material.
    ///
    /// - Throws: `AudioError(.invalidArgument)` when the material has less voiced audio than
    ///   `minimumVoicedSeconds`.
    public func train(_ analysis: TrainingAnalysis, name: String, consent: ConsentRecord, createdAt: Date = Date()) throws -> VoiceModel {
        guard consent.isIntact else { throw AudioError(.invalidArgument, "the consent statement does not match its hash") }
        guard analysis.audit.voicedSeconds >= options.minimumVoicedSeconds else {
            throw AudioError(.invalidArgument, String(format: "only %.1f s of voiced audio in the training material; at least %.0f s is needed",
                                                      analysis.audit.voicedSeconds, options.minimumVoicedSeconds))
        }
        let first = analysis.features[0]
        let M = options.cepstrumOrder, B = first.bandCount
        let mc = MelCepstrum(order: M, pointCount: options.melPointCount, fftSize: first.fftSize, sampleRate: analysis.sampleRate)
        var vc = [Float](), lf = [Float](), ap = [Float](), uc = [Float]()
        for (f, lv) in zip(analysis.features, analysis.levels) {
            let cep = mc.analyze(f)
            let loud = percentile(lv, 0.95)
            for i in 0..<f.frameCount where Double(lv[i]) > Double(loud) - options.silenceDB {
                if f.f0[i] > 0 {
                    vc += cep[(i * M)..<((i + 1) * M)]
                    lf.append(logf(f.f0[i]))
                    ap += f.bandAperiodicity[(i * B)..<((i + 1) * B)]
                } else {
                    uc += cep[(i * M)..<((i + 1) * M)]
                }
            }
        }
        guard !lf.isEmpty else { throw AudioError(.invalidArgument, "no voiced frames in the training material") }
        // Even subsampling keeps the whole range of the material (a prefix would keep only the first files).
        func subsample(_ rows: [Float], width: Int, limit: Int) -> [Float] {
            let n = rows.count / max(1, width)
            guard n > limit else { return rows }
            var out = [Float]()
            out.reserveCapacity(limit * width)
            for j in 0..<limit { let i = j * n / limit; out += rows[(i * width)..<((i + 1) * width)] }
            return out
        }
        let nv = lf.count
        vc = subsample(vc, width: M, limit: options.maximumVoicedFrames)
        ap = subsample(ap, width: B, limit: options.maximumVoicedFrames)
        let allLogF0 = lf
        lf = subsample(lf, width: 1, limit: options.maximumVoicedFrames)
        uc = subsample(uc, width: M, limit: options.maximumUnvoicedFrames)
        let vStats = vc.withUnsafeBufferPointer { CepstralStatistics(rows: $0, order: M) }
        let uStats = uc.withUnsafeBufferPointer { CepstralStatistics(rows: $0, order: M) }
        let meanLog = allLogF0.reduce(0, +) / Float(nv)
        let sdLog = (allLogF0.reduce(0) { $0 + ($1 - meanLog) * ($1 - meanLog) } / Float(nv)).squareRoot()
        let range = PitchRange(f0: analysis.features.flatMap(\.f0))!
        let stamp = ISO8601DateFormatter().string(from: createdAt)
        return VoiceModel(name: name, createdAt: stamp, consent: consent, fingerprint: analysis.fingerprint, audit: analysis.audit,
                          sampleRate: analysis.sampleRate, framePeriod: first.framePeriod, fftSize: first.fftSize,
                          cepstrumOrder: M, melPointCount: options.melPointCount,
                          aperiodicityFrequencies: first.aperiodicityFrequencies, pitchRange: range, logF0Mean: meanLog,
                          logF0StandardDeviation: max(0.01, sdLog), voicedStatistics: vStats, unvoicedStatistics: uStats,
                          voicedCepstra: vc, voicedLogF0: lf, voicedAperiodicity: ap, unvoicedCepstra: uc)
    }

    /// The audit of one file from its samples, features and frame levels.
    func auditFile(_ input: TrainingInput, features f: VoiceFeatures, levels lv: [Float]) -> TrainingAudit.File {
        var clipped = 0, total = 0
        for c in input.audio.channels {
            c.withUnsafeBufferPointer { x in for v in x where abs(v) >= 0.999 { clipped += 1 } }
            total += c.count
        }
        let loud = percentile(lv, 0.95)
        let silent = lv.filter { Double($0) < Double(loud) - 40 }.count
        let audible = lv.filter { $0 > -120 }
        let voicedLevels = zip(lv, f.f0).filter { $0.1 > 0 }.map(\.0)
        let unvoicedLevels = zip(lv, f.f0).filter { $0.1 == 0 && Double($0.0) > Double(loud) - 40 }.map(\.0)
        let voicedConf = zip(f.confidence, f.f0).filter { $0.1 > 0 }.map(\.0)
        // At the end of each voiced phrase of at least 100 ms that is followed by a pause (no voicing for 250 ms):
        // the phrase's last 20 ms against the quietest 10 ms of the 100-250 ms after it. A final consonant can
        // hold the level up for ~100 ms; a reverberation tail holds it longer.
        let step = max(1, Int((0.1 / f.framePeriod).rounded()))
        let pause = max(step + 1, Int((0.25 / f.framePeriod).rounded()))
        var decays = [Float](), run = 0
        for i in 0..<f.frameCount {
            if f.f0[i] > 0 { run += 1; continue }
            if run >= step && i + pause < f.frameCount && !f.f0[i..<(i + pause)].contains(where: { $0 > 0 }) {
                let end = lv[max(0, i - 4)..<i].max() ?? lv[i]
                decays.append(end - (lv[(i + step)..<(i + pause)].min() ?? lv[i]))
            }
            run = 0
        }
        let range = PitchRange(f0: f.f0)
        let voicedSeconds = Double(voicedLevels.count) * f.framePeriod
        var file = TrainingAudit.File(
            name: input.name, seconds: input.audio.duration, sampleRate: input.audio.sampleRate, channels: input.audio.channelCount,
            voicedSeconds: voicedSeconds, clippedFraction: Double(clipped) / Double(max(1, total)),
            silentFraction: Double(silent) / Double(max(1, lv.count)),
            noiseFloorDBFS: audible.isEmpty ? nil : Double(percentile(audible, 0.05)),
            backgroundDB: voicedLevels.isEmpty || unvoicedLevels.isEmpty ? nil
                : Double(percentile(unvoicedLevels, 0.5) - percentile(voicedLevels, 0.5)),
            voicedPeriodicity: voicedConf.isEmpty ? nil : Double(percentile(voicedConf, 0.5)),
            offsetDecayDB: decays.isEmpty ? nil : Double(percentile(decays, 0.5)),
            pitchP5Hz: range?.p5Hz, pitchP95Hz: range?.p95Hz, warnings: [])
        if voicedSeconds == 0 { file.warnings.append("no voiced audio") }
        if file.clippedFraction > 0.001 { file.warnings.append(String(format: "clipping (%.2f%% of samples at full scale)", 100 * file.clippedFraction)) }
        if file.silentFraction > 0.5 { file.warnings.append(String(format: "mostly silence (%.0f%% of frames)", 100 * file.silentFraction)) }
        if let n = file.noiseFloorDBFS, n > -50 { file.warnings.append(String(format: "high noise floor (%.0f dBFS)", n)) }
        if let b = file.backgroundDB, b > -12 {
            file.warnings.append(String(format: "possible leftover accompaniment: gaps only %.0f dB below the voice", -b))
        }
        if let p = file.voicedPeriodicity, p < 0.6 {
            file.warnings.append(String(format: "low periodicity (%.2f): harmonies or accompaniment under the voice?", p))
        }
        if let d = file.offsetDecayDB, d < 20 {
            file.warnings.append(String(format: "reverberant? phrase ends decay only %.0f dB within 250 ms", d))
        }
        return file
    }
}

/// RMS level (dBFS, floor −140) of 10 ms windows centred on each frame (`FrameLevelMeter` over the whole signal).
func frameLevels(_ x: [Float], sampleRate fs: Double, framePeriod: Double, count: Int) -> [Float] {
    let meter = FrameLevelMeter(sampleRate: fs, framePeriod: framePeriod)
    meter.push(x)
    return meter.finish(frameCount: count)
}

/// The `p` quantile (nearest rank) of a non-empty array; 0 for an empty one.
func percentile(_ v: [Float], _ p: Double) -> Float {
    guard !v.isEmpty else { return 0 }
    let s = v.sorted()
    return s[min(s.count - 1, Int(p * Double(s.count - 1) + 0.5))]
}
