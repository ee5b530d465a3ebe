import XCTest
@testable import KenRPC
