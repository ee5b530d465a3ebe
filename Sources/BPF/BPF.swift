// libbpf wrapper: see the issues for its scope.
import CBPF
