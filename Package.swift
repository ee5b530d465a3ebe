// swift-tools-version:6.0
//
// Ken: kernel extensions written in plain English.
//
// The package is cut into small modules, one folder each under Sources/. Arrows point down:
// C shims → thin Swift wrappers → protocol and language modules → agent / kend cores → programs.
// The root agent (`ken-agent`) links no LLM, libcurl or Z3 code: less code running as root.
import PackageDescription

let package = Package(
    name: "Ken",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ken-agent", targets: ["ken-agent"]),
        .executable(name: "kend", targets: ["kend"]),
        .executable(name: "kenc", targets: ["kenc"]),
        .executable(name: "ken-verify", targets: ["ken-verify"]),
        .executable(name: "ken-bench", targets: ["ken-bench"]),
        .executable(name: "ken-eval", targets: ["ken-eval"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // MARK: C system libraries (module maps only; found through pkg-config).
        .systemLibrary(name: "CBPF", path: "Sources/CBPF", pkgConfig: "libbpf",
                       providers: [.apt(["libbpf-dev"])]),
        .systemLibrary(name: "CZ3", path: "Sources/CZ3", pkgConfig: "z3",
                       providers: [.apt(["libz3-dev"])]),
        .systemLibrary(name: "CSystemd", path: "Sources/CSystemd", pkgConfig: "libsystemd",
                       providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),

        // MARK: Thin wrappers: Swift types out, no raw pointers.
        .target(name: "BPF", dependencies: ["CBPF"]),
        .target(name: "Z3", dependencies: ["CZ3"]),
        .target(name: "Systemd", dependencies: ["CSystemd"]),
        .target(name: "HTTP", dependencies: ["CCurl"]),
        .target(name: "SQLite", dependencies: ["CSQLite"]),

        .target(name: "Digest"),
        .target(name: "TOML"),
        .target(name: "Accounts"),
        .target(name: "KenVersion"),

        // MARK: Protocol.
        .target(name: "KenProto", dependencies: [
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], exclude: ["README.md"]),
        .target(name: "KenRPC", dependencies: [
            "KenProto", "Systemd",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // MARK: The bpftrace language.
        .target(name: "BpftraceSyntax"),
        .target(name: "KernelInfo", dependencies: ["BPF"]),
        .target(name: "BpftraceSemantics", dependencies: ["BpftraceSyntax", "KernelInfo"]),
        // The explicit constraints of a request (process name, pid, signal, port…) as asserts.
        .target(name: "PromptAsserts", dependencies: ["BpftraceSyntax"]),

        // MARK: Kernel contracts and the Comprehension Engine (kend side).
        .target(name: "Contracts", dependencies: ["KernelInfo", "BPF", "SQLite", "BpftraceSyntax"]),
        .target(name: "Comprehension", dependencies: [
            "BpftraceSyntax", "BpftraceSemantics", "KernelInfo", "Contracts", "LLM", "SymbolicVerifier", "PromptAsserts",
        ]),

        // MARK: Verification (kend side: links Z3).
        .target(name: "SymbolicVerifier", dependencies: ["BpftraceSyntax", "BpftraceSemantics", "KernelInfo", "Z3"]),

        // MARK: Agent side.
        // The native backend: the plan shared by generator and runtime, the C generator (clang
        // -target bpf), and the agent's output runtime.
        .target(name: "NativeABI"),
        .target(name: "NativeBackend", dependencies: ["NativeABI", "BpftraceSyntax", "BpftraceSemantics", "KernelInfo", "BPF", "Spawn"]),
        .target(name: "NativeRuntime", dependencies: ["NativeABI", "BPF"]),
        .target(name: "Spawn"),
        .target(name: "KernelLoader", dependencies: [
            "BPF", "BpftraceSyntax", "Spawn",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Registry", dependencies: ["SQLite", "KenProto", "Digest", "NativeABI"]),
        .target(name: "AgentCore", dependencies: [
            "KenRPC", "KenProto", "Registry", "KernelLoader", "BPF", "BpftraceSyntax", "Systemd", "TOML", "Accounts", "KenVersion", "Digest",
            // The native backend: the agent resolves and compiles scripts itself (no Z3, LLM or
            // curl behind any of these).
            "KernelInfo", "BpftraceSemantics", "NativeABI", "NativeBackend", "NativeRuntime",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // kenc's library: the daemons' calls, every output format and JSON document, exit
        // statuses, file reading. Links no LLM, libcurl or Z3 (a test checks kenc with ldd).
        .target(name: "KenClient", dependencies: [
            "KenRPC", "KenProto", "Accounts", "KernelInfo", "BpftraceSyntax", "BpftraceSemantics",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: kend side.
        .target(name: "LLM", dependencies: ["HTTP"]),
        .target(name: "ExampleStore", dependencies: ["LLM", "BpftraceSyntax", "PromptAsserts"]),
        // Test support shared by test targets and ken-bench: a scripted OpenAI-compatible HTTP
        // server, and BPF C compiled with clang for tests that load real objects.
        .target(name: "TestSupport", path: "Tests/Support"),

        .target(name: "Synthesis", dependencies: [
            "KenProto", "Digest",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // The one assembly of the synthesis pipeline, and the adapters that put the front end,
        // Comprehension, the verifier, the LLM, the example store and the agent behind
        // Synthesis's stage protocols. Used by kend, ken-eval and ken-bench alike.
        .target(name: "Pipeline", dependencies: [
            "Synthesis", "KenRPC", "KenProto", "LLM", "ExampleStore", "KernelInfo",
            "BpftraceSyntax", "BpftraceSemantics", "SymbolicVerifier", "Comprehension", "Contracts",
        ]),
        .target(name: "KendCore", dependencies: [
            "Synthesis", "Pipeline", "KenRPC", "KenProto", "LLM", "ExampleStore", "KernelInfo",
            "BpftraceSyntax", "BpftraceSemantics", "SymbolicVerifier", "Digest", "Systemd",
            "Comprehension", "Contracts", "Fleet", "TOML", "Accounts", "KenVersion",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),

        .target(name: "Fleet", dependencies: [
            "TOML", "Digest", "KenProto", "KenRPC", "KernelInfo",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),

        // MARK: Programs.
        .executableTarget(name: "ken-agent", dependencies: [
            "AgentCore", "KenRPC", "KenProto", "Systemd",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "kend", dependencies: [
            "KendCore", "KenRPC", "KenProto", "Systemd",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // kenc: argument parsing and calls into KenClient; the local checks (check, fmt,
        // contracts) link the front end and the contracts store. No LLM, libcurl or Z3.
        .executableTarget(name: "kenc", dependencies: [
            "KenClient", "KenProto", "BpftraceSemantics", "Contracts", "KernelInfo", "Fleet", "KenVersion",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // `kenc verify` runs this helper, which holds the symbolic verifier (Z3).
        .executableTarget(name: "ken-verify", dependencies: [
            "KenClient", "SymbolicVerifier",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // ken-bench's measurements, as a library the tests reach; the program parses arguments.
        .target(name: "Bench", dependencies: [
            "AgentCore", "Registry", "KendCore", "Pipeline", "Synthesis", "ExampleStore", "KernelInfo", "KenProto",
            "KenRPC", "BpftraceSyntax", "BpftraceSemantics", "SymbolicVerifier", "Comprehension", "Contracts",
            "TestSupport", "NativeABI", "NativeBackend", "NativeRuntime", "KernelLoader", "Evaluation", "BPF",
        ]),
        .executableTarget(name: "ken-bench", dependencies: [
            "Bench",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // The evaluation harness (issue #9): datasets, ablation modes, behaviour checks.
        .target(name: "Evaluation", dependencies: [
            "Pipeline", "Synthesis", "AgentCore", "KenRPC", "KenProto", "LLM", "ExampleStore", "KernelInfo",
            "Comprehension", "Contracts", "BpftraceSyntax",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "ken-eval", dependencies: [
            "Evaluation", "LLM",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Tests.
        .testTarget(name: "KenRPCTests", dependencies: ["KenRPC", "KenProto", "Systemd", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "BpftraceSyntaxTests", dependencies: ["BpftraceSyntax"]),
        .testTarget(name: "KernelInfoTests", dependencies: ["KernelInfo", "BPF"]),
        .testTarget(name: "BpftraceSemanticsTests", dependencies: ["BpftraceSemantics", "BpftraceSyntax", "KernelInfo"]),
        .testTarget(name: "SymbolicVerifierTests", dependencies: ["SymbolicVerifier", "BpftraceSyntax", "BpftraceSemantics", "KernelInfo", "Z3"]),
        .testTarget(name: "NativeRuntimeTests", dependencies: ["NativeRuntime", "NativeABI", "BPF", "TestSupport"]),
        .testTarget(name: "KernelLoaderTests", dependencies: ["KernelLoader", "BPF", "TestSupport"]),
        .testTarget(name: "AgentCoreTests", dependencies: ["TOML", "Accounts", "Digest", "KernelInfo", "AgentCore", "KenClient", "Registry", "KenRPC", "KenProto", "KernelLoader", "TestSupport", "NativeABI", "NativeRuntime"]),
        .testTarget(name: "RegistryTests", dependencies: ["Digest", "Registry", "SQLite", "KenProto", "NativeABI"]),
        .testTarget(name: "LLMTests", dependencies: ["LLM", "HTTP", "TestSupport"]),
        .testTarget(name: "ExampleStoreTests", dependencies: ["ExampleStore", "BpftraceSyntax", "LLM", "TestSupport"]),
        .testTarget(name: "DigestTests", dependencies: ["Digest"]),
        .testTarget(name: "KenVersionTests", dependencies: ["KenVersion"]),
        .testTarget(name: "FleetTests", dependencies: ["Fleet", "TOML", "Digest", "KenProto"]),
        .testTarget(name: "TOMLTests", dependencies: ["TOML"]),
        .testTarget(name: "ShippingTests"),
        .testTarget(name: "KenClientTests", dependencies: [
            "KenClient", "KenProto", "BpftraceSemantics", "SymbolicVerifier", "Contracts", "KernelInfo",
        ]),
        .testTarget(name: "AnnotatedCorpusTests", dependencies: ["BpftraceSyntax", "BpftraceSemantics", "KernelInfo", "SymbolicVerifier"]),
        .testTarget(name: "ContractsTests", dependencies: ["Contracts", "KernelInfo"]),
        .testTarget(name: "ComprehensionTests", dependencies: ["Comprehension", "Contracts", "BpftraceSyntax", "SymbolicVerifier", "TestSupport"]),
        .testTarget(name: "PromptAssertsTests", dependencies: ["PromptAsserts", "BpftraceSyntax"]),
        .testTarget(name: "SynthesisTests", dependencies: [
            "Synthesis", "Pipeline", "KendCore", "KenProto", "KenRPC", "LLM", "ExampleStore", "KernelInfo", "TestSupport",
            "AgentCore", "Fleet", "Comprehension", "Contracts", "KenVersion", "BpftraceSyntax", "KenClient",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "BenchTests", dependencies: ["Bench"]),
        // Native backend against the installed bpftrace: the same programs, the same triggers,
        // the same JSON lines (Sources/Bench/Differential).
        .testTarget(name: "NativeDifferentialTests", dependencies: ["Bench", "Evaluation", "KernelInfo", "NativeABI"]),
        .testTarget(name: "NativeBackendTests", dependencies: ["NativeBackend", "NativeABI", "NativeRuntime", "BpftraceSyntax", "BpftraceSemantics", "KernelInfo", "BPF"]),
        .testTarget(name: "EvalTests", dependencies: ["Evaluation", "Pipeline", "KendCore", "Synthesis", "AgentCore", "KenRPC", "KenProto", "LLM", "KernelInfo", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
