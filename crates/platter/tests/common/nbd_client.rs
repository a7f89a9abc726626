//! A minimal NBD client for tests: fixed-newstyle handshake with
//! NBD_OPT_GO, then simple requests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub struct NbdClient {
    pub stream: TcpStream,
    pub size: u64,
    pub flags: u16,
    cookie: u64,
}

fn read_u32(s: &mut TcpStream) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    s.read_exact(&mut b)?;
    Ok(u32::from_be_bytes(b))
}

fn read_u64(s: &mut TcpStream) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    s.read_exact(&mut b)?;
    Ok(u64::from_be_bytes(b))
}

impl NbdClient {
    /// Connects to `nbd://host:port/name`; `Err` if the server refuses.
    pub fn connect(uri: &str) -> std::io::Result<NbdClient> {
        let rest = uri.strip_prefix("nbd://").expect("nbd uri");
        let (addr, name) = rest.split_once('/').expect("export name");
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut hello = [0u8; 18];
        s.read_exact(&mut hello)?;
        assert_eq!(&hello[..8], b"NBDMAGIC");
        s.write_all(&3u32.to_be_bytes())?; // fixed newstyle, no zeroes
        let mut opt = Vec::new();
        opt.extend_from_slice(b"IHAVEOPT");
        opt.extend_from_slice(&7u32.to_be_bytes()); // NBD_OPT_GO
        opt.extend_from_slice(&((4 + name.len() + 2) as u32).to_be_bytes());
        opt.extend_from_slice(&(name.len() as u32).to_be_bytes());
        opt.extend_from_slice(name.as_bytes());
        opt.extend_from_slice(&0u16.to_be_bytes());
        s.write_all(&opt)?;
        let (mut size, mut flags) = (0, 0);
        loop {
            let _magic = read_u64(&mut s)?;
            let _opt = read_u32(&mut s)?;
            let kind = read_u32(&mut s)?;
            let len = read_u32(&mut s)? as usize;
            let mut data = vec![0u8; len];
            s.read_exact(&mut data)?;
            match kind {
                1 => break,
                3 if data.len() >= 12 && data[..2] == [0, 0] => {
                    size = u64::from_be_bytes(data[2..10].try_into().unwrap());
                    flags = u16::from_be_bytes([data[10], data[11]]);
                }
                3 => {}
                _ => return Err(std::io::Error::other(format!("option refused: {kind:#x}"))),
            }
        }
        Ok(NbdClient {
            stream: s,
            size,
            flags,
            cookie: 1,
        })
    }

    fn request(
        &mut self,
        kind: u16,
        flags: u16,
        offset: u64,
        len: u32,
        payload: &[u8],
    ) -> std::io::Result<u32> {
        self.cookie += 1;
        let mut h = Vec::with_capacity(28 + payload.len());
        h.extend_from_slice(&0x2560_9513u32.to_be_bytes());
        h.extend_from_slice(&flags.to_be_bytes());
        h.extend_from_slice(&kind.to_be_bytes());
        h.extend_from_slice(&self.cookie.to_be_bytes());
        h.extend_from_slice(&offset.to_be_bytes());
        h.extend_from_slice(&len.to_be_bytes());
        h.extend_from_slice(payload);
        self.stream.write_all(&h)?;
        let magic = read_u32(&mut self.stream)?;
        assert_eq!(magic, 0x6744_6698, "simple reply");
        let error = read_u32(&mut self.stream)?;
        let cookie = read_u64(&mut self.stream)?;
        assert_eq!(cookie, self.cookie);
        Ok(error)
    }

    /// Reads; `Ok(Err(errno))` for an NBD error.
    pub fn read(&mut self, offset: u64, len: u32) -> std::io::Result<Result<Vec<u8>, u32>> {
        let error = self.request(0, 0, offset, len, &[])?;
        if error != 0 {
            return Ok(Err(error));
        }
        let mut data = vec![0u8; len as usize];
        self.stream.read_exact(&mut data)?;
        Ok(Ok(data))
    }

    pub fn write(&mut self, offset: u64, data: &[u8]) -> std::io::Result<u32> {
        self.request(1, 0, offset, data.len() as u32, data)
    }

    pub fn flush(&mut self) -> std::io::Result<u32> {
        self.request(3, 0, 0, 0, &[])
    }

    /// Sends raw bytes (for hostile-client tests).
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Whether the server has closed the connection.
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }
}
