"""tests/integration/cofferd_proc.py - what every Python test that owns the
cofferd under test (restarts it, SIGKILLs it) shares: killloop.py's Server
and tier_faults_cases.py's Local. A subclass starts the process its own way
and keeps it in self.proc (a subprocess.Popen); kill() is a crash, stop() a
clean shutdown that must exit 0. Waits are bounded."""
import signal


class CofferdProcess:
    proc = None

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0, "cofferd did not stop cleanly"
