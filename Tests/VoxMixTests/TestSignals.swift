import Foundation
import VoxAudio

/// Deterministic test signals.
enum TestSignals {
    /// Uniform noise in [-1, 1) from a fixed-seed xorshift.
    struct Noise {
        var state: UInt64
        init(seed: UInt64) { state = seed | 1 }
        mutating func next() -> Float {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(state >> 40) / 8_388_608 - 1
        }
    }

    static func noise(frames: Int, channels: Int, amplitude: Float, seed: UInt64 = 7, rate: Double = 44100) -> AudioBuffer {
        var g = Noise(seed: seed)
        let chans = (0..<channels).map { _ in (0..<frames).map { _ in amplitude * g.next() } }
        return AudioBuffer(channels: chans, sampleRate: rate)
    }

    /// A drum-like signal: noise bursts with sharp attacks and exponential decays every 0.25 s, over a quiet bed.
    static func drums(seconds: Double, rate: Double = 44100, seed: UInt64 = 3) -> AudioBuffer {
        var g = Noise(seed: seed)
        let n = Int(seconds * rate)
        let period = Int(0.25 * rate)
        let ch = (0..<n).map { i -> Float in
            let t = Double(i % period) / rate
            let env = Float(exp(-t * 18)) * (i / period % 2 == 0 ? 0.9 : 0.5) + 0.03
            return env * g.next() + 0.2 * env * Float(sin(2 * Double.pi * 60 * Double(i) / rate))
        }
        return AudioBuffer(channels: [ch, ch.map { $0 * 0.9 }], sampleRate: rate)
    }

    /// A sung-phrase-like signal as a function of time: notes of changing pitch with harmonics, vibrato and
    /// syllable envelopes. `harmonicTilt` changes the timbre (another "singer") without changing the timing.
    static func voice(at t: Double, harmonicTilt: Double = 0.6) -> Double {
        guard t >= 0 else { return 0 }
        let noteLength = 0.37
        let note = Int(t / noteLength)
        let within = t - Double(note) * noteLength
        let pitches: [Double] = [220, 247, 262, 294, 330, 294, 262, 196, 220, 175, 247]
        let f0 = pitches[note % pitches.count] * (1 + 0.01 * sin(2 * Double.pi * 5.5 * t))
        let envelope = within < 0.02 ? within / 0.02 : max(0, 1 - (within - 0.02) / (noteLength - 0.02)) * (note % 3 == 2 ? 0.4 : 1)
        var s = 0.0
        var phase = 0.0
        for h in 1...8 {
            phase = 2 * Double.pi * f0 * Double(h) * t
            s += pow(harmonicTilt, Double(h - 1)) * sin(phase + Double(h))
        }
        return 0.3 * envelope * s
    }

    static func voice(seconds: Double, delay: Double = 0, rate: Double = 44100, harmonicTilt: Double = 0.6) -> AudioBuffer {
        let n = Int(seconds * rate)
        let ch = (0..<n).map { Float(voice(at: Double($0) / rate - delay, harmonicTilt: harmonicTilt)) }
        return AudioBuffer(channels: [ch], sampleRate: rate)
    }

    static func sine(_ frequency: Double, amplitude: Float, seconds: Double, channels: Int = 2, rate: Double = 44100,
                     phase: Double = 0) -> AudioBuffer {
        let n = Int(seconds * rate)
        let ch = (0..<n).map { amplitude * Float(sin(2 * Double.pi * frequency * Double($0) / rate + phase)) }
        return AudioBuffer(channels: Array(repeating: ch, count: channels), sampleRate: rate)
    }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vox-mix-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
