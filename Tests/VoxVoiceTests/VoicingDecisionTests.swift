import Foundation
import XCTest
@testable import VoxVoice

/// The voicing decision on hand-made contours (no signal): continuity, cores, extension, section length, gaps.
final class VoicingDecisionTests: XCTestCase {
    let period = 0.005

    func decide(_ f0: [Float], periodicity: Float = 0.8, candidates: [[Float]]? = nil,
                options: VoicingDecisionOptions = VoicingDecisionOptions()) -> [Float] {
        let n = f0.count
        let cands = (candidates ?? Array(repeating: [], count: n)).map {
            VoicingDecision.Candidates(f0: $0, periodicity: [Float](repeating: 0.3, count: $0.count))
        }
        return VoicingDecision(options: options).decide(
            f0: f0, periodicity: [Float](repeating: periodicity, count: n), candidates: cands,
            audible: [Bool](repeating: true, count: n), framePeriod: period).f0
    }

    func testInvalidVoicingOptionsAreRefusedByTheTracker() {
        var o = PitchTrackerOptions()
        o.voicing = VoicingDecisionOptions()
        o.voicing?.minimumCoreFrames = 0
        XCTAssertThrowsError(try PitchTracker(options: o).track(samples: [Float](repeating: 0, count: 1600), sampleRate: 16000))
        o.voicing?.minimumCoreFrames = 7
        XCTAssertNoThrow(try PitchTracker(options: o).track(samples: [Float](repeating: 0, count: 1600), sampleRate: 16000))
    }

    func testSmoothContourStaysVoicedJumpyContourIsUnvoiced() {
        // 60 frames of a 1 %-per-frame glide from 120 Hz, then 60 frames jumping by 20 % or more (F0 "measured" on
        // noise).
        var f0 = (0..<60).map { Float(120 * pow(1.01, Double($0))) }
        f0 += (0..<60).map { [Float(150), 260, 90, 400][$0 % 4] }
        var o = VoicingDecisionOptions()
        o.decodedEdgeFrames = 0
        let out = decide(f0, options: o)
        XCTAssertEqual(out[0..<60].filter { $0 > 0 }.count, 60)
        XCTAssertEqual(Array(out[0..<60]), Array(f0[0..<60]))
        XCTAssertEqual(out[60...].filter { $0 > 0 }.count, 0)
    }

    func testWeakPeriodicityIsNotACore() {
        let f0 = [Float](repeating: 200, count: 50)
        XCTAssertEqual(decide(f0, periodicity: 0.2).filter { $0 > 0 }.count, 0)
        XCTAssertEqual(decide(f0, periodicity: 0.6).filter { $0 > 0 }.count, 50)
    }

    func testShortRunsAndShortSectionsAreDropped() {
        var o = VoicingDecisionOptions()
        o.extensionMaximumFrames = 0
        // 5 reliable frames: fewer than the 7 of a core.
        var f0 = [Float](repeating: 0, count: 40)
        for i in 10..<15 { f0[i] = 150 }
        XCTAssertEqual(decide(f0, options: o).filter { $0 > 0 }.count, 0)
        // 7 frames at 100 Hz = 3.5 periods: a core, but shorter than 6 periods.
        f0 = [Float](repeating: 0, count: 40)
        for i in 10..<17 { f0[i] = 100 }
        XCTAssertEqual(decide(f0, options: o).filter { $0 > 0 }.count, 0)
        // At 300 Hz the same 7 frames are 10.5 periods: kept.
        for i in 10..<17 { f0[i] = 300 }
        XCTAssertEqual(decide(f0, options: o).filter { $0 > 0 }.count, 7)
    }

    func testExtensionFollowsNearbyCandidatesOnly() {
        // A core at frames 20…39 (200 Hz); before it, candidates gliding down 5 % per frame (followed), after it
        // candidates an octave away (not followed).
        var f0 = [Float](repeating: 0, count: 60)
        for i in 20..<40 { f0[i] = 200 }
        var cands = [[Float]](repeating: [], count: 60)
        for i in 10..<20 { cands[i] = [Float(200 * pow(0.95, Double(20 - i)))] }
        for i in 40..<50 { cands[i] = [400] }
        let out = decide(f0, candidates: cands)
        for i in 10..<20 { XCTAssertEqual(out[i], cands[i][0], "frame \(i)") }
        XCTAssertEqual(out[9], 0)
        XCTAssertEqual(out[40...].filter { $0 > 0 }.count, 0)
    }

    func testDecodedEdgesAreVoicedWithAContinuousF0() {
        // A 200 Hz core (frames 20…39); after it the decoding voiced frames 40…49 jumping between 600 and 700 Hz
        // (not reliable, too far to extend along).
        var f0 = [Float](repeating: 0, count: 60)
        for i in 20..<40 { f0[i] = 200 }
        for i in 40..<50 { f0[i] = i % 2 == 0 ? 600 : 700 }
        var o = VoicingDecisionOptions()
        o.decodedEdgeFrames = 5
        let out = decide(f0, options: o)
        XCTAssertEqual(Array(out[40..<45]), [Float](repeating: 200, count: 5))   // voiced, the section's F0 held
        XCTAssertEqual(out[45...].filter { $0 > 0 }.count, 0)                   // 5 frames at most
        XCTAssertEqual(out[..<20].filter { $0 > 0 }.count, 0)
    }

    func testShortGapsAreFilledInLogFrequency() {
        var f0 = [Float](repeating: 0, count: 80)
        for i in 0..<30 { f0[i] = 100 }
        for i in 40..<80 { f0[i] = 400 }   // a 10-frame gap, two octaves apart
        let out = decide(f0)
        XCTAssertEqual(Double(out[35]), 100 * pow(4, 6.0 / 11), accuracy: 0.5)   // log-linear from frame 29 to 40
        var o = VoicingDecisionOptions()
        o.gapFillFrames = 5
        XCTAssertEqual(decide(f0, options: o)[35], 0)
    }
}
