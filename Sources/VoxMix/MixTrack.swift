import Foundation
import VoxAudio

/// Where a track's audio comes from.
public enum MixSource: Sendable {
    /// An audio file, streamed block by block.
    case file(String)
    /// Audio already in memory (e.g. a separated stem or a converted take in `vox cover`).
    case buffer(AudioBuffer, name: String)

    /// A name for messages and reports.
    public var name: String {
        switch self {
        case .file(let path): path
        case .buffer(_, let name): name
        }
    }
}

/// One input of a mix and how it goes onto the bus.
public struct MixTrack: Sendable {
    public var source: MixSource
    /// Gain in dB (default 0).
    public var gainDB: Double = 0
    /// Position from −1 (left) through 0 (centre) to +1 (right). Mono tracks are panned with the constant-power
    /// law (−3 dB per side at centre); stereo tracks are balanced with the same law normalised to unity at
    /// centre (the near side stays at unity, the far side follows cos/sin).
    public var pan: Double = 0
    /// Where the track starts on the bus, in seconds (negative: its beginning is cut). Fractional samples at the
    /// output rate are honoured (windowed-sinc fractional delay).
    public var offsetSeconds: Double = 0
    /// The offset in frames at the bus rate, when given that way (`offset=441smp`); it overrides `offsetSeconds`.
    public var offsetFrames: Double?
    /// A muted track is read for validation but contributes nothing.
    public var muted = false

    public init(source: MixSource, gainDB: Double = 0, pan: Double = 0, offsetSeconds: Double = 0, muted: Bool = false) {
        self.source = source
        self.gainDB = gainDB
        self.pan = pan
        self.offsetSeconds = offsetSeconds
        self.muted = muted
    }

    /// Parses the command-line form `PATH[@gain=-3dB,pan=-0.2,offset=120ms,mute]`.
    ///
    /// `gain` takes dB (`-3dB` or `-3`); `pan` −1…1; `offset` takes `ms` (the default unit), `s` or `smp`
    /// (frames at the bus rate: converted with `sampleRate` when it is known, else kept as `offsetFrames`);
    /// `mute` takes no value. Text after the last `@` is
    /// read as settings only if it looks like them, so paths containing `@` still work.
    /// - Throws: `.invalidArgument` naming the bad setting.
    public init(spec: String, sampleRate: Double? = nil) throws {
        var path = spec
        var settings: [Substring] = []
        if let at = spec.lastIndex(of: "@") {
            let tail = spec[spec.index(after: at)...]
            let items = tail.split(separator: ",", omittingEmptySubsequences: false)
            let keys = ["gain", "pan", "offset", "mute"]
            if !tail.isEmpty, items.allSatisfy({ item in keys.contains { item.lowercased().hasPrefix($0) } }) {
                path = String(spec[..<at])
                settings = items
            }
        }
        self.init(source: .file(path))
        func bad(_ what: String) -> AudioError {
            AudioError(.invalidArgument, path: path, "bad track setting '\(what)': expected gain=-3dB, pan=-0.2, offset=120ms (ms, s or smp) or mute")
        }
        for item in settings {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            switch parts[0] {
            case "mute" where parts.count == 1:
                muted = true
            case "gain" where parts.count == 2:
                let v = parts[1].hasSuffix("db") ? String(parts[1].dropLast(2)) : parts[1]
                guard let g = Double(v), g.isFinite, g <= 60 else { throw bad(String(item)) }
                gainDB = g
            case "pan" where parts.count == 2:
                guard let p = Double(parts[1]), (-1...1).contains(p) else {
                    throw AudioError(.invalidArgument, path: path, "pan must be between -1 (left) and 1 (right), not '\(parts[1])'")
                }
                pan = p
            case "offset" where parts.count == 2:
                let v = parts[1]
                let seconds: Double?
                if v.hasSuffix("ms") {
                    seconds = Double(v.dropLast(2)).map { $0 / 1000 }
                } else if v.hasSuffix("smp") {
                    guard let frames = Double(v.dropLast(3)), frames.isFinite, abs(frames) < 1e11 else { throw bad(String(item)) }
                    if let rate = sampleRate {
                        seconds = frames / rate
                    } else {
                        offsetFrames = frames
                        seconds = 0
                    }
                } else if v.hasSuffix("s") {
                    seconds = Double(v.dropLast(1))
                } else {
                    seconds = Double(v).map { $0 / 1000 }
                }
                guard let s = seconds, s.isFinite, abs(s) < 86_400 else { throw bad(String(item)) }
                offsetSeconds = s
            default:
                throw bad(String(item))
            }
        }
    }

    /// Gains of this track's channels onto a bus of `busChannels` (1 or 2) channels:
    /// `weights[busChannel][trackChannel]`, with `trackChannels` 1 or 2 (wider tracks are down-mixed first).
    func busWeights(trackChannels: Int, busChannels: Int) -> [[Float]] {
        let g = Float(pow(10, gainDB / 20))
        if busChannels == 1 {
            // Mono bus: the mean of the track's channels, no panning.
            return [[Float](repeating: g / Float(trackChannels), count: trackChannels)]
        }
        let theta = (pan + 1) * Double.pi / 4  // 0 … π/2
        if trackChannels == 1 {
            return [[g * Float(cos(theta))], [g * Float(sin(theta))]]
        }
        if pan == 0 { return [[g, 0], [0, g]] }  // exact unity, so an untouched stereo track stays bit-exact
        let left = Float(min(1, 2.0.squareRoot() * cos(theta)))
        let right = Float(min(1, 2.0.squareRoot() * sin(theta)))
        return [[g * left, 0], [0, g * right]]
    }
}
