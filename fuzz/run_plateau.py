#!/usr/bin/env python3
"""Runs one fuzz target (under `nice -n 19`) until its coverage stops growing, or a time cap.

Plateau rule: no new `cov:` for the last WINDOW seconds AND none in the last half of the
fuzzing executions (executions now >= 2 x executions at the last new `cov:`); the run is then
stopped with SIGINT. Executions and coverage count from libFuzzer's `INITED` line: the replay of
the corpus before it is neither fuzzing nor new coverage (counted in, a large corpus's replay made
half the executions by itself, and a run still finding edges met the rule in minutes). A crash, timeout or out-of-memory ends libFuzzer: the input is kept in the artifacts
folder and the run goes on from the grown corpus, so one finding does not end the session.

usage (after `cargo +nightly fuzz build -O`, from anywhere):
    fuzz/run_plateau.py TARGET WINDOW_SECONDS CAP_SECONDS [libFuzzer options]
The grown corpus, artifacts and logs go under $GLASSBOX_FUZZ_WORK (default /tmp/glassbox-fuzz),
outside git; the committed seeds in fuzz/corpus/TARGET are read, never written. One summary
line per run is appended to $GLASSBOX_FUZZ_WORK/summary.txt.
"""
import os, queue, re, signal, subprocess, sys, threading, time

target, window, cap = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
extra = sys.argv[4:]
fuzz_dir = os.path.dirname(os.path.abspath(__file__))
work = os.environ.get('GLASSBOX_FUZZ_WORK', '/tmp/glassbox-fuzz')
# GLASSBOX_FUZZ_TARGET_DIR: another build's target folder (e.g. the own-code-only build of
# own_code_only.sh); default the one `cargo fuzz build` writes.
target_dir = os.environ.get('GLASSBOX_FUZZ_TARGET_DIR', f'{fuzz_dir}/target')
binary = f'{target_dir}/x86_64-unknown-linux-gnu/release/{target}'
corpus = f'{work}/{target}'
arts = f'{work}/artifacts/{target}/'
for d in (corpus, arts, f'{work}/logs'):
    os.makedirs(d, exist_ok=True)
log = open(f'{work}/logs/{target}.log', 'a')
line_re = re.compile(r'^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+).*?exec/s: (\d+)')
start = time.time()
base_exec = 0          # fuzzing executions of earlier (crashed) libFuzzer processes
cov = None; last_cov_t = start; last_cov_exec = 0
exec_now = 0; rate = 0; last_seen_t = start
first_cov = None; events = []
plateau = False
# The fuzzer runs in its own session (see below), out of reach of the terminal's Ctrl-C: pass
# SIGINT and SIGTERM on to it, and stop once it has written its final stats.
child = None; stopping = False
def forward(signum, frame):
    global stopping
    stopping = True
    if child is not None and child.poll() is None:
        child.send_signal(signal.SIGINT)
signal.signal(signal.SIGINT, forward)
signal.signal(signal.SIGTERM, forward)
while True:
    remaining = cap - (time.time() - start)
    if remaining <= 5 or plateau or stopping:
        break
    args = ['nice', '-n', '19', binary, corpus, f'{fuzz_dir}/corpus/{target}',
            '-timeout=10', '-rss_limit_mb=2048', f'-artifact_prefix={arts}',
            '-print_final_stats=1', f'-max_total_time={int(remaining)}'] + extra
    log.write(f'=== {time.strftime("%H:%M:%S")} {" ".join(args)}\n'); log.flush()
    # Its own session, whose scheduler autogroup gets nice 19 too: with autogroups on (most
    # desktop and VM kernels), `nice` only ranks processes within one session, and a fuzzer
    # started from another one took an equal share of the CPU from builds and tests.
    p = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                         errors='replace', start_new_session=True)
    child = p
    try:
        with open(f'/proc/{p.pid}/autogroup', 'w') as g:
            g.write('19')
    except OSError:
        pass          # no autogroups (or not Linux): `nice` alone ranks it
    proc_exec = 0          # this process's fuzzing executions (after its INITED line)
    proc_init = None       # this process's execution count at its INITED line
    q = queue.Queue()
    def pump(stream=p.stderr):
        for l in stream:
            q.put(l)
        q.put(None)
    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = q.get(timeout=5)
        except queue.Empty:
            line = ''
        if line is None:
            break
        if line:
            log.write(line); log.flush()
        m = line_re.match(line)
        now = time.time()
        if m:
            n, kind, c, ft, r = int(m[1]), m[2], int(m[3]), int(m[4]), int(m[5])
            if kind == 'INITED':
                proc_init = n
                if first_cov is None:
                    first_cov = c; last_cov_t = now; last_cov_exec = base_exec
                cov = c if cov is None else max(cov, c)
            elif proc_init is not None:
                proc_exec = n - proc_init; exec_now = base_exec + proc_exec; rate = r; last_seen_t = now
                if c > cov:
                    last_cov_t = now; last_cov_exec = exec_now
                    cov = c
        m2 = re.match(r'stat::number_of_executed_units: (\d+)', line)
        if m2 and proc_init is not None:
            proc_exec = int(m2[1]) - proc_init; exec_now = base_exec + proc_exec
        if 'ERROR: libFuzzer' in line or 'SUMMARY:' in line or '==ERROR' in line:
            events.append(f'{time.strftime("%H:%M:%S")} {line.strip()}')
        est = exec_now + (rate * (now - last_seen_t) if proc_init is not None else 0)
        if not plateau and now - last_cov_t >= window and est >= 2 * max(last_cov_exec, 1) and cov is not None:
            plateau = True
            p.send_signal(signal.SIGINT)
    p.wait()
    base_exec += proc_exec
    log.write(f'=== exit {p.returncode}\n'); log.flush()
    if stopping:
        break
    if p.returncode == 0 or plateau:
        # exited cleanly: max_total_time reached (cap) or stopped at plateau
        if p.returncode == 0 and not plateau:
            # check rule at the end
            now = time.time()
            plateau = now - last_cov_t >= window and exec_now >= 2 * max(last_cov_exec, 1)
        break
elapsed = time.time() - start
summary = (f'{target}: {elapsed/60:.1f} min, executions {exec_now}, cov start {first_cov} final {cov}, '
           f'last new cov at exec {last_cov_exec} ({(last_cov_t-start)/60:.1f} min), '
           f'plateau={plateau}, events={events}')
print(summary)
log.write('=== ' + summary + '\n')
open(f'{work}/summary.txt', 'a').write(time.strftime('%H:%M ') + summary + f' load={os.getloadavg()}\n')
