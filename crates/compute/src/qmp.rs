//! A QMP client over a guest's unix socket: commands in, replies and
//! events out, one JSON object per line.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{io_err, ComputeError, ComputeResult};

pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Events read while waiting for a reply, for `wait_event`.
    events: Vec<Value>,
}

impl Qmp {
    /// Connects (retrying until `timeout` while the socket appears) and
    /// negotiates capabilities.
    pub fn connect(path: &Path, timeout: Duration) -> ComputeResult<Qmp> {
        let deadline = Instant::now() + timeout;
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(s) => break s,
                Err(e) if Instant::now() >= deadline => {
                    return Err(io_err(path.display().to_string())(e))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(io_err("qmp socket"))?;
        let writer = stream.try_clone().map_err(io_err("qmp socket"))?;
        let mut q = Qmp {
            reader: BufReader::new(stream),
            writer,
            events: Vec::new(),
        };
        let greeting = q.read()?;
        if greeting.get("QMP").is_none() {
            return Err(ComputeError::Hypervisor(format!(
                "not a QMP greeting: {greeting}"
            )));
        }
        q.execute("qmp_capabilities", json!({}))?;
        Ok(q)
    }

    fn read(&mut self) -> ComputeResult<Value> {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(io_err("qmp socket"))?;
        if n == 0 {
            return Err(ComputeError::Hypervisor("QMP closed the connection".into()));
        }
        serde_json::from_str(&line)
            .map_err(|e| ComputeError::Hypervisor(format!("bad QMP message: {e}")))
    }

    /// Runs a command; its `return` value, or its error's description.
    pub fn execute(&mut self, command: &str, arguments: Value) -> ComputeResult<Value> {
        let mut msg = json!({ "execute": command });
        if arguments.as_object().is_some_and(|a| !a.is_empty()) {
            msg["arguments"] = arguments;
        }
        let mut text = msg.to_string();
        text.push('\n');
        self.writer
            .write_all(text.as_bytes())
            .map_err(io_err("qmp socket"))?;
        loop {
            let reply = self.read()?;
            if let Some(r) = reply.get("return") {
                return Ok(r.clone());
            }
            if let Some(e) = reply.get("error") {
                let desc = e
                    .get("desc")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error");
                return Err(ComputeError::Hypervisor(format!("{command}: {desc}")));
            }
            if reply.get("event").is_some() {
                self.events.push(reply);
            }
        }
    }

    /// Waits for an event named `name` whose data `matches`.
    pub fn wait_event(
        &mut self,
        name: &str,
        timeout: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> ComputeResult<Value> {
        let is_it = |e: &Value| {
            e.get("event").and_then(Value::as_str) == Some(name)
                && matches(e.get("data").unwrap_or(&Value::Null))
        };
        if let Some(i) = self.events.iter().position(is_it) {
            return Ok(self.events.remove(i));
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ComputeError::Timeout(format!("no {name} event")));
            }
            self.reader
                .get_ref()
                .set_read_timeout(Some(left))
                .map_err(io_err("qmp socket"))?;
            let got = self.read();
            match got {
                Ok(e) if is_it(&e) => return Ok(e),
                Ok(e) => self.events.push(e),
                Err(ComputeError::Io { source, .. })
                    if matches!(
                        source.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(ComputeError::Timeout(format!("no {name} event")))
                }
                Err(e) => return Err(e),
            }
        }
    }
}
