// BpftraceSyntax: the bpftrace language as data.
//
// Pipeline of this module (each step a pure function over value types):
//
//   Parser.parse(source:file:)          text → ParseResult (Program? + [Diagnostic])
//   stripAnnotations(_:)                Program → Program without Ken's assume/assert
//   Lowering.lower(_:to:)               Program → Program in an older dialect (+ diagnostics)
//   Printer.print(_:) / print(_:dialect:)  Program → canonical text (print∘parse is identity
//                                       on trees, ignoring source ranges)
//
// Why the pieces are shaped this way:
// - Trees are Sendable value types so passes (semantic resolution, symbolic verification,
//   printing) can run anywhere without sharing mutable state; `Expression.type` is the one
//   slot a later pass fills in.
// - The lexer works on UTF-8 bytes with byte offsets and a line table, so parsing is linear
//   and locations are exact; diagnostics render as `FILE:LINE:COL: error: MESSAGE`, the
//   source line and a caret line, because an LLM reads them verbatim to repair programs.
// - Nesting depth, expression size and diagnostic count are bounded, so hostile input gives
//   a diagnostic instead of a stack overflow or an endless error list.
// - Attach points, preprocessor lines and C definitions are kept as written text: their
//   meaning depends on the kernel, which BpftraceSemantics resolves.
