import CZlib
import Foundation
import XCTest
import VoxAudio
@testable import VoxSpectral

final class SpectrogramImageTests: XCTestCase {
    /// Splits a PNG into chunks, checking every CRC.
    private func chunks(_ png: Data) throws -> [(String, [UInt8])] {
        let bytes = [UInt8](png)
        XCTAssertEqual(Array(bytes[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var out = [(String, [UInt8])]()
        var i = 8
        while i < bytes.count {
            let len = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            let typed = Array(bytes[(i + 4)..<(i + 8 + len)])
            let crc = UInt32(bytes[i + 8 + len]) << 24 | UInt32(bytes[i + 9 + len]) << 16 | UInt32(bytes[i + 10 + len]) << 8 | UInt32(bytes[i + 11 + len])
            XCTAssertEqual(UInt32(crc32(0, typed, uInt(typed.count))), crc)
            out.append((String(decoding: typed[0..<4], as: UTF8.self), Array(typed[4...])))
            i += 12 + len
        }
        return out
    }

    func testPNGEncodesPixelsLosslessly() throws {
        var img = RasterImage(width: 7, height: 5)
        img.set(x: 3, y: 2, color: (10, 20, 30))
        img.draw(text: "1k", x: 0, y: 0, scale: 1)
        let parts = try chunks(img.pngData())
        XCTAssertEqual(parts.map { $0.0 }, ["IHDR", "IDAT", "IEND"])
        XCTAssertEqual(parts[0].1, [0, 0, 0, 7, 0, 0, 0, 5, 8, 2, 0, 0, 0])
        var raw = [UInt8](repeating: 0, count: 5 * (1 + 21))
        var rawLen = uLongf(raw.count)
        XCTAssertEqual(uncompress(&raw, &rawLen, parts[1].1, uLong(parts[1].1.count)), Z_OK)
        XCTAssertEqual(Int(rawLen), raw.count)
        var pixels = [UInt8]()
        for y in 0..<5 { pixels += raw[(y * 22 + 1)..<(y * 22 + 22)] }
        XCTAssertEqual(pixels, img.pixels)
        XCTAssertEqual(Array(img.pixels[3 * (2 * 7 + 3)..<3 * (2 * 7 + 3) + 3]), [10, 20, 30])
    }

    func testEveryGlyphHasSevenRowsOfFiveColumns() {
        XCTAssertGreaterThan(bitmapFont5x7.count, 70)
        for (ch, rows) in bitmapFont5x7 {
            XCTAssertEqual(rows.count, 7, "\(ch)")
            XCTAssertTrue(rows.allSatisfy { $0 < 32 }, "\(ch)")
        }
    }

    /// A 2 kHz tone is the brightest row at 2 kHz on both axes, and the picture has the plot's size plus margins.
    func testToneAppearsAtItsFrequency() throws {
        let sr = 16000.0
        let x = AudioBuffer(channels: [(0..<32000).map { Float(0.5 * sin(2 * Double.pi * 2000 * Double($0) / sr)) }], sampleRate: sr)
        for log in [false, true] {
            let cfg = try STFTConfiguration(fftSize: 1024, hopSize: 256)
            var o = SpectrogramImageOptions()
            o.plotWidth = 200; o.plotHeight = 160; o.logFrequency = log; o.minimumFrequency = 50
            let b = SpectrogramImageBuilder(configuration: cfg, sampleRate: sr, expectedFrames: cfg.frameCount(forSamples: 32000), options: o)
            let s = StreamingSTFT(configuration: cfg, channelCount: 1, sampleRate: sr)
            b.add(s.push(x)); b.add(s.finish())
            let img = b.render()
            XCTAssertEqual(img.width, 200 + 96 + 110)
            XCTAssertEqual(img.height, 160 + 40 + 60)
            // Brightness (sum of RGB) of each plot row in the middle column.
            let x0 = 96 + 100
            let rows = (0..<160).map { r -> Int in
                let i = 3 * ((40 + r) * img.width + x0)
                return Int(img.pixels[i]) + Int(img.pixels[i + 1]) + Int(img.pixels[i + 2])
            }
            let brightest = rows.firstIndex(of: rows.max()!)!
            let u = Double(160 - brightest - 1) / 160  // row position from the bottom, 0…1
            let f = log ? 50 * pow(8000 / 50, u) : u * 8000
            XCTAssertEqual(f, 2000, accuracy: log ? 150 : 60, "log=\(log)")
        }
    }
}
