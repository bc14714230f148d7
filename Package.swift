// swift-tools-version: 6.0
// Vox: stem separation, singing voice conversion and mixing, in Swift.
import PackageDescription

let package = Package(
    name: "Vox",
    products: [
        .library(name: "VoxAudio", targets: ["VoxAudio"]),
        .library(name: "VoxSpectral", targets: ["VoxSpectral"]),
        .library(name: "VoxSeparation", targets: ["VoxSeparation"]),
        .library(name: "VoxVoice", targets: ["VoxVoice"]),
        .executable(name: "vox", targets: ["vox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries from Debian (tools/setup.sh installs the -dev packages).
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile",
                       providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f",
                       providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr",
                       providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),

        // Library layers: lower layers never import higher ones.
        .target(name: "VoxAudio", dependencies: ["CSndFile", "CSoxr"]),
        .target(name: "VoxSpectral", dependencies: ["VoxAudio", "CFFTW", "CZlib"]),
        .target(name: "VoxSeparation", dependencies: ["VoxAudio", "VoxSpectral", "COpenBLAS"],
                // Network inference is ~100× slower unoptimised; tests of it would take minutes in debug.
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        .target(name: "VoxVoice", dependencies: ["VoxAudio", "VoxSpectral"],
                // Per-frame DSP loops are ~100× slower unoptimised; keep debug tests fast.
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),

        // Command line.
        .executableTarget(name: "vox", dependencies: [
            "VoxAudio", "VoxSpectral", "VoxSeparation", "VoxVoice",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Benchmarks driver used by tools/bench (not a test).
        .executableTarget(name: "vox-bench", dependencies: ["VoxAudio", "VoxSpectral", "VoxSeparation"]),

        .testTarget(name: "VoxAudioTests", dependencies: ["VoxAudio"]),
        .testTarget(name: "VoxSpectralTests", dependencies: ["VoxSpectral", "VoxAudio"]),
        .testTarget(name: "VoxSeparationTests", dependencies: ["VoxSeparation", "VoxSpectral", "VoxAudio"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "VoxVoiceTests", dependencies: ["VoxVoice", "VoxAudio"]),
        .testTarget(name: "VoxCLITests", dependencies: ["vox", "VoxAudio"]),
    ],
    swiftLanguageModes: [.v6]
)
