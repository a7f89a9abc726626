//! A small NBD client (fixed newstyle, NBD_OPT_GO, simple replies), for
//! `platter volume import/export` and for tests.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::proto::*;
use crate::NbdError;

pub struct NbdClient {
    stream: TcpStream,
    size: u64,
    read_only: bool,
    cookie: u64,
}

/// Splits `nbd://host:port/name` into the address and the export name.
pub fn parse_uri(uri: &str) -> Result<(String, String), NbdError> {
    let rest = uri
        .strip_prefix("nbd://")
        .ok_or_else(|| NbdError::Client(format!("not an nbd:// URI: {uri}")))?;
    let (addr, name) = rest.split_once('/').unwrap_or((rest, ""));
    let addr = if addr.contains(':') {
        addr.to_string()
    } else {
        format!("{addr}:10809")
    };
    Ok((addr, name.to_string()))
}

impl NbdClient {
    pub async fn connect(uri: &str) -> Result<NbdClient, NbdError> {
        let (addr, name) = parse_uri(uri)?;
        let mut s = TcpStream::connect(&addr).await?;
        let _ = s.set_nodelay(true);
        let magic = s.read_u64().await?;
        let opt_magic = s.read_u64().await?;
        if magic != NBDMAGIC || opt_magic != IHAVEOPT {
            return Err(NbdError::Client("not a newstyle NBD server".into()));
        }
        let flags = s.read_u16().await?;
        if flags & FLAG_FIXED_NEWSTYLE == 0 {
            return Err(NbdError::Client(
                "the server does not speak fixed newstyle".into(),
            ));
        }
        s.write_u32(CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES)
            .await?;
        let mut data = Vec::new();
        data.extend_from_slice(&(name.len() as u32).to_be_bytes());
        data.extend_from_slice(name.as_bytes());
        data.extend_from_slice(&0u16.to_be_bytes());
        let mut opt = Vec::new();
        opt.extend_from_slice(&IHAVEOPT.to_be_bytes());
        opt.extend_from_slice(&OPT_GO.to_be_bytes());
        opt.extend_from_slice(&(data.len() as u32).to_be_bytes());
        opt.extend_from_slice(&data);
        s.write_all(&opt).await?;
        let (mut size, mut tflags) = (None, 0u16);
        loop {
            let _magic = s.read_u64().await?;
            let _option = s.read_u32().await?;
            let kind = s.read_u32().await?;
            let len = s.read_u32().await?;
            if len > MAX_OPTION_LEN {
                return Err(NbdError::Client("oversized option reply".into()));
            }
            let mut reply = vec![0u8; len as usize];
            s.read_exact(&mut reply).await?;
            match kind {
                REP_ACK => break,
                REP_INFO if reply.len() >= 12 && reply[..2] == INFO_EXPORT.to_be_bytes() => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&reply[2..10]);
                    size = Some(u64::from_be_bytes(b));
                    tflags = u16::from_be_bytes([reply[10], reply[11]]);
                }
                REP_INFO => {}
                k => {
                    let msg = String::from_utf8_lossy(&reply).into_owned();
                    return Err(NbdError::Client(format!(
                        "the server refused the export ({k:#x}): {msg}"
                    )));
                }
            }
        }
        let size = size.ok_or_else(|| NbdError::Client("the server sent no export size".into()))?;
        Ok(NbdClient {
            stream: s,
            size,
            read_only: tflags & TFLAG_READ_ONLY != 0,
            cookie: 0,
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    async fn send(
        &mut self,
        kind: u16,
        offset: u64,
        len: u32,
        payload: &[u8],
    ) -> Result<(), NbdError> {
        self.cookie += 1;
        let mut h = Vec::with_capacity(REQUEST_HEADER_LEN + payload.len());
        h.extend_from_slice(&REQUEST_MAGIC.to_be_bytes());
        h.extend_from_slice(&0u16.to_be_bytes());
        h.extend_from_slice(&kind.to_be_bytes());
        h.extend_from_slice(&self.cookie.to_be_bytes());
        h.extend_from_slice(&offset.to_be_bytes());
        h.extend_from_slice(&len.to_be_bytes());
        h.extend_from_slice(payload);
        self.stream.write_all(&h).await?;
        let magic = self.stream.read_u32().await?;
        if magic != SIMPLE_REPLY_MAGIC {
            return Err(NbdError::Client(format!(
                "unexpected reply magic {magic:#x}"
            )));
        }
        let error = self.stream.read_u32().await?;
        let cookie = self.stream.read_u64().await?;
        if cookie != self.cookie {
            return Err(NbdError::Client("reply for another request".into()));
        }
        if error != 0 {
            return Err(NbdError::Client(format!(
                "the server answered error {error} at offset {offset}"
            )));
        }
        Ok(())
    }

    pub async fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), NbdError> {
        self.send(CMD_READ, offset, buf.len() as u32, &[]).await?;
        self.stream.read_exact(buf).await?;
        Ok(())
    }

    pub async fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), NbdError> {
        self.send(CMD_WRITE, offset, data.len() as u32, data).await
    }

    pub async fn write_zeroes(&mut self, offset: u64, len: u32) -> Result<(), NbdError> {
        self.send(CMD_WRITE_ZEROES, offset, len, &[]).await
    }

    pub async fn flush(&mut self) -> Result<(), NbdError> {
        self.send(CMD_FLUSH, 0, 0, &[]).await
    }

    pub async fn disconnect(mut self) -> Result<(), NbdError> {
        let mut h = Vec::with_capacity(REQUEST_HEADER_LEN);
        h.extend_from_slice(&REQUEST_MAGIC.to_be_bytes());
        h.extend_from_slice(&0u16.to_be_bytes());
        h.extend_from_slice(&CMD_DISC.to_be_bytes());
        h.extend_from_slice(&0u64.to_be_bytes());
        h.extend_from_slice(&0u64.to_be_bytes());
        h.extend_from_slice(&0u32.to_be_bytes());
        self.stream.write_all(&h).await?;
        Ok(())
    }
}
