// KendCore: kend's call handlers and wiring (in progress).
