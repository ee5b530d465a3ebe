import BPF
import Foundation
import NativeABI
import NativeBackend
import BpftraceSemantics
import XCTest

/// One small program per supported feature: generated, compiled and loaded through the
/// kernel verifier (not attached). A failure shows the generated C and the verifier's log.
final class FeatureLoadTests: XCTestCase {
    static let programs: [(String, String)] = [
        ("integer rules", #"""
        tracepoint:syscalls:sys_enter_openat {
          $a = args->flags; $b = (int16)args->dfd; $c = -(uint16)$a; $d = ~(int8)$b;
          $e = $a / ($b + 1); $f = $a % 0; $g = $a >> 70; $h = $a << $b; $i = (uint8)($a * 300);
          $j = $b < -1; $k = $a > $b; $l = (bool)$a; $a = $a + 1;
          printf("%d %d %d %d %d %d %d %d %d %d %d %d\n", $a, $b, $c, $d, $e, $f, $g, $h, $i, $j, $k, $l);
        }
        """#),
        ("strings", #"""
        tracepoint:syscalls:sys_enter_openat /str(args->filename) == "/etc/hostname" || comm == "cat"/ {
          $f = str(args->filename, 16); $g = str(args->filename);
          if (strncmp($g, "/tmp/", 5) == 0 && $f != "x") { printf("%s %s %s\n", $f, $g, comm); }
          @names[$g] = count(); @last[tid] = $f;
        }
        """#),
        ("maps and aggregations", #"""
        tracepoint:syscalls:sys_exit_read /args->ret > 0/ {
          @c = count(); @s[comm] = sum(args->ret); @mn = min(args->ret); @mx[pid] = max(args->ret);
          @a = avg(args->ret); @st = stats(args->ret); @h = hist(args->ret); @l = lhist(args->ret, 0, 1000, 100);
          @n[pid]++; @m[pid, comm] += args->ret; @v = args->ret; @v -= 1; --@w; @t[(pid, comm)] = 1;
          if (@n[pid] > 100) { delete(@n[pid]); }
          if (has_key(@n, pid)) { @seen[pid] = 1; }
          if (@c > 5) { @manyreads = 1; }
        }
        interval:s:1 { print(@c); print(@s, 10); print(@h, 5, 2); clear(@mx); zero(@a); time(); time("%H\n"); print(@v); print(comm); }
        END { clear(@n); }
        """#),
        ("control flow", #"""
        tracepoint:syscalls:sys_enter_write {
          $i = 0; $sum = 0;
          while ($i < 10) { $i++; if ($i == 3) { continue; } if ($i > 8) { break; } $sum += $i; }
          unroll(3) { $sum = $sum * 2; }
          $x = $sum > 10 ? 1 : 2; $s = $sum > 10 ? "big" : "small";
          if (args->count == 0) { return; } else if (args->count == 1) { printf("one\n"); } else { printf("%d %d %s\n", $x, $sum, $s); }
        }
        """#),
        ("builtins", #"""
        tracepoint:sched:sched_process_exec {
          printf("%d %d %d %d %d %lu %lu %d %s %s %u\n", pid, tid, uid, gid, cpu, nsecs, elapsed, rand, comm, username, jiffies);
          printf("%d %s\n", curtask->pid, curtask->comm);
          printf("%d\n", curtask->real_parent->tgid);
          @k[kstack] = count(); @k2[kstack(5)] = count();
          printf("%s %d %d %d\n", probe, ppid, cgroup, numaid);
        }
        """#),
        ("actions", #"""
        tracepoint:syscalls:sys_enter_ptrace /comm == "ken-no-such-proc"/ { signal("SIGKILL"); signal(15); exit(); printf("not reached\n"); }
        """#),
        ("BEGIN END interval profile", #"""
        BEGIN { printf("start\n"); @start = nsecs; }
        profile:hz:99 /pid == 1/ { @p[cpu] = count(); }
        interval:ms:500 { printf("%d\n", elapsed / 1000000); }
        END { printf("end\n"); print(@p); }
        """#),
        ("raw tracepoint", #"""
        rawtracepoint:sched_switch { @switches[cpu] = count(); }
        """#),
        ("ksym and casts", #"""
        tracepoint:timer:hrtimer_expire_entry { @timers[ksym(args->function)] = count(); $p = (struct task_struct *)curtask; printf("%d\n", $p->tgid); }
        """#),
        ("tracepoint wildcard", #"""
        tracepoint:syscalls:sys_enter_open* { @opens[probe] = count(); }
        """#),
        ("uprobe", #"""
        uretprobe:/bin/bash:readline { printf("%-8d %s\n", pid, str(retval)); }
        uprobe:/bin/bash:readline { @calls = count(); printf("%s\n", str(arg0)); }
        """#),
        ("data_loc and byte arrays", #"""
        tracepoint:net:net_dev_xmit { @lo[str(args->name)] = count(); }
        tracepoint:sock:inet_sock_set_state { printf("%s %s\n", ntop(args->saddr), ntop(args->daddr_v6)); printf("%s %s\n", ntop(2, args->saddr), str(args->saddr)); printf("%s\n", args->daddr); }
        """#),
        ("config and declarations", #"""
        config = { max_map_keys = 100 }
        let @small = lruhash(16);
        tracepoint:syscalls:sys_enter_close { @small[args->fd] = 1; @big[args->fd] = 2; }
        """#),
        ("bswap and byte order", #"""
        tracepoint:sock:inet_sock_set_state { printf("%d %d %d\n", bswap(args->sport), ntohs(args->dport), bswap((uint32)args->sport)); }
        """#),
    ]

    func testEveryFeatureProgramPassesTheVerifier() throws {
        if geteuid() != 0 { throw XCTSkip("needs root to load BPF programs") }
        let compiler = NativeCompiler(kernel: NativeFixtures.kernel)
        for (name, source) in Self.programs {
            let resolved: ResolvedProgram
            switch NativeFixtures.resolve(source, file: name) {
            case let .resolved(r): resolved = r
            case let .failed(reason):
                // The fixtures name probes this kernel has; the uprobe needs bash.
                if name == "uprobe", !FileManager.default.fileExists(atPath: "/bin/bash") { continue }
                XCTFail("\(name): \(reason)")
                continue
            }
            do {
                let artifact = try compiler.compile(resolved)
                // KEN_NATIVE_SHOW=1 prints what was generated, for reading it.
                if ProcessInfo.processInfo.environment["KEN_NATIVE_SHOW"] != nil { print("== \(name)\n\(artifact.cSource)\n\(artifact.plan)") }
                let object = try BPFObject(elf: artifact.object, name: "ken_feature")
                do {
                    try object.load()
                } catch let error as BPFError {
                    XCTFail("\(name): \(error)\n\(error.verifierLog.suffix(3000))\n\(error.libbpfLog.suffix(1500))\n\(artifact.cSource)")
                }
            } catch {
                let source = (try? compiler.generate(resolved).cSource) ?? ""
                XCTFail("\(name): \(error)\n\(source.suffix(6000))")
            }
        }
    }
}
