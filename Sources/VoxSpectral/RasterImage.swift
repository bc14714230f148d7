import CZlib
import Foundation

/// An 8-bit RGB image with the few drawing operations a plot needs, and a PNG encoder (zlib from Debian).
public struct RasterImage: Sendable {
    public let width: Int
    public let height: Int
    /// Row-major RGB triples, top row first.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, color: background)
    }

    /// Sets one pixel (ignored outside the image).
    @inline(__always)
    public mutating func set(x: Int, y: Int, color: (UInt8, UInt8, UInt8)) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = 3 * (y * width + x)
        pixels[i] = color.0; pixels[i + 1] = color.1; pixels[i + 2] = color.2
    }

    /// Fills a rectangle (clipped to the image).
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: (UInt8, UInt8, UInt8)) {
        let x0 = max(0, x), x1 = min(width, x + w), y0 = max(0, y), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for yy in y0..<y1 {
            for xx in x0..<x1 { set(x: xx, y: yy, color: color) }
        }
    }

    /// Draws `text` with the built-in 5×7 font at integer `scale`; (x, y) is the top-left corner.
    /// Characters without a glyph are drawn as '?'.
    public mutating func draw(text: String, x: Int, y: Int, scale: Int = 2, color: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        var cx = x
        for ch in text {
            let rows = bitmapFont5x7[ch] ?? (ch == " " ? [0, 0, 0, 0, 0, 0, 0] : bitmapFont5x7["?"]!)
            for (r, bits) in rows.enumerated() {
                for col in 0..<5 where bits & (1 << (4 - col)) != 0 {
                    fill(x: cx + col * scale, y: y + r * scale, width: scale, height: scale, color: color)
                }
            }
            cx += 6 * scale
        }
    }

    /// Width in pixels of `text` drawn at `scale`.
    public static func textWidth(_ text: String, scale: Int = 2) -> Int { max(0, text.count * 6 * scale - scale) }

    /// The image encoded as PNG (8-bit RGB, no interlace, zlib level 6).
    public func pngData() throws -> Data {
        var raw = [UInt8]()
        raw.reserveCapacity(height * (1 + 3 * width))
        for y in 0..<height {
            raw.append(0)  // filter type: none
            raw.append(contentsOf: pixels[(3 * y * width)..<(3 * (y + 1) * width)])
        }
        var compressedSize = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        let status = compress2(&compressed, &compressedSize, raw, uLong(raw.count), 6)
        guard status == Z_OK else { throw STFTError.invalidSize("zlib compress2 failed (\(status))") }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func chunk(_ type: String, _ body: [UInt8]) {
            var length = UInt32(body.count).bigEndian
            png.append(Data(bytes: &length, count: 4))
            let typed = Array(type.utf8) + body
            png.append(contentsOf: typed)
            var crc = UInt32(crc32(0, typed, uInt(typed.count))).bigEndian
            png.append(Data(bytes: &crc, count: 4))
        }
        func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
        chunk("IHDR", be32(width) + be32(height) + [8, 2, 0, 0, 0])
        chunk("IDAT", Array(compressed[0..<Int(compressedSize)]))
        chunk("IEND", [])
        return png
    }
}

/// A perceptually ordered colour map (black → purple → orange → pale yellow, after matplotlib's "magma").
public enum ColorMap {
    private static let anchors: [(Float, Float, Float)] = [
        (0.001, 0.000, 0.014), (0.082, 0.042, 0.218), (0.232, 0.060, 0.437), (0.390, 0.100, 0.502),
        (0.550, 0.161, 0.506), (0.716, 0.215, 0.475), (0.868, 0.288, 0.409), (0.967, 0.439, 0.360),
        (0.994, 0.624, 0.427), (0.996, 0.812, 0.573), (0.987, 0.991, 0.750),
    ]

    /// The colour for `value` in [0, 1] (clamped).
    public static func magma(_ value: Float) -> (UInt8, UInt8, UInt8) {
        let v = min(1, max(0, value.isFinite ? value : 0)) * Float(anchors.count - 1)
        let i = min(anchors.count - 2, Int(v))
        let f = v - Float(i)
        let a = anchors[i], b = anchors[i + 1]
        func mix(_ x: Float, _ y: Float) -> UInt8 { UInt8(max(0, min(255, (x + (y - x) * f) * 255 + 0.5))) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}
