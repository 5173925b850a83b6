// swift-tools-version:6.0
import PackageDescription

// Dependency direction (docs/design.md §1):
//   supportbill -> BillingJobs -> {BillingCore, BillingStore -> Postgres -> CLibPQ}
// BillingCore depends on nothing of ours, so the planners can never reach the database.
let package = Package(
    name: "supportbill",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "supportbill", targets: ["supportbill"]),
        .executable(name: "supportbill-bench", targets: ["supportbill-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
    ],
    targets: [
        // libpq, found through pkg-config (Debian/Ubuntu: apt-get install libpq-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"]), .yum(["libpq-devel"])]
        ),
        .target(
            name: "Postgres",
            dependencies: ["CLibPQ"]
        ),
        .target(
            name: "EmbeddedPostgres",
            dependencies: ["Postgres"]
        ),
        .target(
            name: "BillingCore"
        ),
        .target(
            name: "BillingStore",
            dependencies: ["BillingCore", "Postgres"],
            plugins: ["EmbedFiles"]
        ),
        .target(
            name: "BillingJobs",
            dependencies: [
                "BillingCore", "BillingStore", "Postgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            plugins: ["EmbedFiles"]
        ),
        .executableTarget(
            name: "supportbill",
            dependencies: [
                "BillingJobs", "BillingStore", "BillingCore", "Postgres", "EmbeddedPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            plugins: ["EmbedFiles"]
        ),
        // The benchmark (issue 9): `swift run -c release supportbill-bench`.
        .executableTarget(
            name: "supportbill-bench",
            dependencies: [
                "BillingJobs", "BillingStore", "BillingCore", "Postgres", "EmbeddedPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Build-time embedding of sql/, jobs/ and demo/ into the binary, so that it needs no
        // source tree at run time and the embedded copies can never drift from the files.
        .executableTarget(name: "EmbedFilesTool"),
        .plugin(
            name: "EmbedFiles",
            capability: .buildTool(),
            dependencies: ["EmbedFilesTool"]
        ),

        // Shared test helpers: one embedded cluster per test process, a migrated template
        // database, and a fresh database per test.
        .target(
            name: "TestSupport",
            dependencies: ["EmbeddedPostgres", "Postgres", "BillingStore", "BillingCore"],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "EmbeddedPostgresTests", dependencies: ["EmbeddedPostgres", "Postgres", "TestSupport"]),
        .testTarget(name: "BillingCoreTests", dependencies: ["BillingCore", "TestSupport"]),
        .testTarget(name: "BillingStoreTests", dependencies: ["BillingStore", "BillingCore", "Postgres", "TestSupport"]),
        .testTarget(name: "BillingJobsTests", dependencies: ["BillingJobs", "BillingStore", "BillingCore", "Postgres", "TestSupport"]),
        .testTarget(
            name: "supportbillTests",
            dependencies: ["supportbill", "BillingJobs", "BillingStore", "Postgres", "TestSupport"],
            exclude: ["Golden"]
        ),
    ]
)
