import Foundation
import XCTest
@testable import VoxVoice

/// F0 where the difference function's deepest dip is not the voice's period: creaky voice (the voice-range prior)
/// and mains hum under the voice (the hum notches).
final class PitchTrackerNoiseTests: XCTestCase {
    let rate = 16000.0

    func rms(_ x: [Float]) -> Double { (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot() }

    func testCreakyVoiceKeepsItsPulseRate() throws {
        // A 150 Hz voice for 0.6 s, then 20 dB quieter creak: the same pulse rate with every second pulse at 0.6 of
        // the others. The difference function's deepest dip is then at twice the period (75 Hz), and the tracker had
        // followed it for the whole creak (LibriSpeech 2609); Harvest and the ear keep the pulse rate.
        let n = Int(1.2 * rate)
        var pulses = [Double](repeating: 0, count: n)
        var k = 0
        while Double(k) / 150 < 1.2 {
            let t = Double(k) / 150
            let i = Int((t * rate).rounded())
            if i < n { pulses[i] = t < 0.6 ? 1 : 0.1 * (k % 2 == 0 ? 1 : 0.6) }
            k += 1
        }
        // A 700 Hz resonance (two-pole, r = 0.97) as a vowel's first formant.
        let r = 0.97, c = 2 * r * cos(2 * .pi * 700 / rate)
        var x = [Float](repeating: 0, count: n)
        var y1 = 0.0, y2 = 0.0
        for i in 0..<n {
            let y = pulses[i] + c * y1 - r * r * y2
            y2 = y1; y1 = y
            x[i] = Float(0.02 * y)
        }
        var o = PitchTrackerOptions()
        o.voicedOdds = 100
        let track = try PitchTracker(options: o).track(samples: x, sampleRate: rate)
        let creak = (0..<track.frameCount).filter { (0.65...1.15).contains(track.time(ofFrame: $0)) }.map { Double(track.f0[$0]) }
        let off = creak.filter { $0 > 0 && abs(cents($0, 150)) > 50 }
        XCTAssertEqual(off.count, 0, "creak frames off the pulse rate: \(off.prefix(8))")
        XCTAssertGreaterThan(Double(creak.filter { $0 > 0 }.count) / Double(creak.count), 0.95)
    }

    func testHumUnderTheVoiceIsNotTheF0() throws {
        // 60 Hz mains hum 10 dB below a 200 Hz voice, in the voice's syllables and the pauses between them: the
        // difference function dipped at a compromise of voice and hum periods (63 Hz) throughout the syllables.
        let n = Int(3.0 * rate)
        let voice = harmonicTone(seconds: 3.0, sampleRate: rate) { t in (0.5..<1.2).contains(t) || (1.8..<2.5).contains(t) ? 200 : 0 }
        let voiceRMS = rms(Array(voice[Int(0.5 * rate)..<Int(1.2 * rate)]))
        let humAmplitude = voiceRMS * pow(10, -10.0 / 20) * 2.0.squareRoot()
        let x = (0..<n).map { voice[$0] + Float(humAmplitude * sin(2 * .pi * 60 * Double($0) / rate)) }
        for odds in [1.0, 100.0] {
            var o = PitchTrackerOptions()
            o.voicedOdds = odds
            let track = try PitchTracker(options: o).track(samples: x, sampleRate: rate)
            for segment in [0.6...1.1, 1.9...2.4] {
                let f = (0..<track.frameCount).filter { segment.contains(track.time(ofFrame: $0)) }.map { Double(track.f0[$0]) }
                let right = f.filter { $0 > 0 && abs(cents($0, 200)) < 50 }.count
                XCTAssertGreaterThan(Double(right) / Double(f.count), 0.95, "voiced odds \(odds), segment \(segment): \(f.prefix(8))")
            }
        }
    }

    func testHeldNoteIsNotTakenForHum() throws {
        // A 3 s note held throughout (no quiet frames): it is stationary, but with nothing quieter around it the
        // hum detector must not notch it away.
        let x = harmonicTone(seconds: 3.0, sampleRate: rate) { _ in 110 }
        XCTAssertEqual(HumFilter().tones(x, rate: rate), [])
        let track = try PitchTracker().track(samples: x, sampleRate: rate)
        let f = (0..<track.frameCount).filter { (0.1...2.9).contains(track.time(ofFrame: $0)) }.map { Double(track.f0[$0]) }
        XCTAssertTrue(f.allSatisfy { $0 > 0 && abs(cents($0, 110)) < 20 })
    }
}
