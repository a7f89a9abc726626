//! The NBD protocol: constants, and parsing and encoding of the messages
//! Platter handles. No I/O here: these functions take and return bytes, so
//! they can be fuzzed and unit-tested alone.
//!
//! Reference: the NBD protocol document (`doc/proto.md` of the NBD project).

// Handshake.
pub const NBDMAGIC: u64 = 0x4e42_444d_4147_4943; // "NBDMAGIC"
pub const IHAVEOPT: u64 = 0x4948_4156_454f_5054; // "IHAVEOPT"
pub const OPTION_REPLY_MAGIC: u64 = 0x0003_e889_0455_65a9;

pub const FLAG_FIXED_NEWSTYLE: u16 = 1 << 0;
pub const FLAG_NO_ZEROES: u16 = 1 << 1;
pub const CLIENT_FLAG_FIXED_NEWSTYLE: u32 = 1 << 0;
pub const CLIENT_FLAG_NO_ZEROES: u32 = 1 << 1;

// Options.
pub const OPT_EXPORT_NAME: u32 = 1;
pub const OPT_ABORT: u32 = 2;
pub const OPT_LIST: u32 = 3;
pub const OPT_STARTTLS: u32 = 5;
pub const OPT_INFO: u32 = 6;
pub const OPT_GO: u32 = 7;
pub const OPT_STRUCTURED_REPLY: u32 = 8;
pub const OPT_LIST_META_CONTEXT: u32 = 9;
pub const OPT_SET_META_CONTEXT: u32 = 10;

// Option replies.
pub const REP_ACK: u32 = 1;
pub const REP_SERVER: u32 = 2;
pub const REP_INFO: u32 = 3;
pub const REP_META_CONTEXT: u32 = 4;
pub const REP_ERR_UNSUP: u32 = (1 << 31) + 1;
pub const REP_ERR_POLICY: u32 = (1 << 31) + 2;
pub const REP_ERR_INVALID: u32 = (1 << 31) + 3;
pub const REP_ERR_UNKNOWN: u32 = (1 << 31) + 6;
pub const REP_ERR_TOO_BIG: u32 = (1 << 31) + 9;

// NBD_INFO_*.
pub const INFO_EXPORT: u16 = 0;
pub const INFO_NAME: u16 = 1;
pub const INFO_DESCRIPTION: u16 = 2;
pub const INFO_BLOCK_SIZE: u16 = 3;

// Transmission flags.
pub const TFLAG_HAS_FLAGS: u16 = 1 << 0;
pub const TFLAG_READ_ONLY: u16 = 1 << 1;
pub const TFLAG_SEND_FLUSH: u16 = 1 << 2;
pub const TFLAG_SEND_FUA: u16 = 1 << 3;
pub const TFLAG_SEND_TRIM: u16 = 1 << 5;
pub const TFLAG_SEND_WRITE_ZEROES: u16 = 1 << 6;
pub const TFLAG_SEND_DF: u16 = 1 << 7;
pub const TFLAG_CAN_MULTI_CONN: u16 = 1 << 8;
pub const TFLAG_SEND_CACHE: u16 = 1 << 10;
pub const TFLAG_SEND_FAST_ZERO: u16 = 1 << 11;

// Requests.
pub const REQUEST_MAGIC: u32 = 0x2560_9513;
pub const SIMPLE_REPLY_MAGIC: u32 = 0x6744_6698;
pub const STRUCTURED_REPLY_MAGIC: u32 = 0x668e_33ef;
pub const REQUEST_HEADER_LEN: usize = 28;

pub const CMD_READ: u16 = 0;
pub const CMD_WRITE: u16 = 1;
pub const CMD_DISC: u16 = 2;
pub const CMD_FLUSH: u16 = 3;
pub const CMD_TRIM: u16 = 4;
pub const CMD_CACHE: u16 = 5;
pub const CMD_WRITE_ZEROES: u16 = 6;
pub const CMD_BLOCK_STATUS: u16 = 7;

pub const CMD_FLAG_FUA: u16 = 1 << 0;
pub const CMD_FLAG_NO_HOLE: u16 = 1 << 1;
pub const CMD_FLAG_DF: u16 = 1 << 2;
pub const CMD_FLAG_REQ_ONE: u16 = 1 << 3;
pub const CMD_FLAG_FAST_ZERO: u16 = 1 << 4;

// Structured replies.
pub const REPLY_FLAG_DONE: u16 = 1 << 0;
pub const REPLY_TYPE_NONE: u16 = 0;
pub const REPLY_TYPE_OFFSET_DATA: u16 = 1;
pub const REPLY_TYPE_OFFSET_HOLE: u16 = 2;
pub const REPLY_TYPE_BLOCK_STATUS: u16 = 5;
pub const REPLY_TYPE_ERROR: u16 = (1 << 15) + 1;

pub const STATE_HOLE: u32 = 1 << 0;
pub const STATE_ZERO: u32 = 1 << 1;

// Errors (errno values the protocol uses).
pub const EPERM: u32 = 1;
pub const EIO: u32 = 5;
pub const EINVAL: u32 = 22;
pub const ENOSPC: u32 = 28;
pub const EOVERFLOW: u32 = 75;
pub const ENOTSUP: u32 = 95;
pub const ESHUTDOWN: u32 = 108;

/// The one metadata context served.
pub const BASE_ALLOCATION: &str = "base:allocation";
pub const BASE_ALLOCATION_ID: u32 = 1;

/// Largest option payload accepted; bigger ones end the connection.
pub const MAX_OPTION_LEN: u32 = 64 * 1024;
/// Largest read or write payload.
pub const MAX_PAYLOAD: u32 = 32 << 20;
/// Block sizes advertised with NBD_INFO_BLOCK_SIZE.
pub const BLOCK_MIN: u32 = 1;
pub const BLOCK_PREFERRED: u32 = 4096;
pub const BLOCK_MAX: u32 = MAX_PAYLOAD;

/// Why client bytes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("truncated message")]
    Truncated,
    #[error("bad magic {0:#x}")]
    BadMagic(u64),
    #[error("invalid: {0}")]
    Invalid(&'static str),
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProtoError> {
        let end = self.pos.checked_add(n).ok_or(ProtoError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(ProtoError::Truncated)?;
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, ProtoError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, ProtoError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, ProtoError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    fn string(&mut self, n: usize) -> Result<String, ProtoError> {
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| ProtoError::Invalid("name is not UTF-8"))
    }
    fn done(&self) -> Result<(), ProtoError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(ProtoError::Invalid("trailing bytes"))
        }
    }
}

/// NBD_OPT_INFO / NBD_OPT_GO payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoRequest {
    pub name: String,
    pub infos: Vec<u16>,
}

pub fn parse_info_request(data: &[u8]) -> Result<InfoRequest, ProtoError> {
    let mut r = Reader::new(data);
    let n = r.u32()? as usize;
    let name = r.string(n)?;
    let count = r.u16()? as usize;
    let infos = (0..count).map(|_| r.u16()).collect::<Result<Vec<_>, _>>()?;
    r.done()?;
    Ok(InfoRequest { name, infos })
}

/// NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaContextRequest {
    pub name: String,
    pub queries: Vec<String>,
}

pub fn parse_meta_context_request(data: &[u8]) -> Result<MetaContextRequest, ProtoError> {
    let mut r = Reader::new(data);
    let n = r.u32()? as usize;
    let name = r.string(n)?;
    let count = r.u32()? as usize;
    if count > 1024 {
        return Err(ProtoError::Invalid("too many queries"));
    }
    let mut queries = Vec::with_capacity(count);
    for _ in 0..count {
        let len = r.u32()? as usize;
        if len > 4096 {
            return Err(ProtoError::Invalid("query too long"));
        }
        queries.push(r.string(len)?);
    }
    r.done()?;
    Ok(MetaContextRequest { name, queries })
}

/// Whether a meta-context query selects `base:allocation`.
pub fn query_matches_base_allocation(query: &str) -> bool {
    query == BASE_ALLOCATION || query == "base:"
}

/// An option's header: `IHAVEOPT | option | length`.
pub fn parse_option_header(h: &[u8; 16]) -> Result<(u32, u32), ProtoError> {
    let mut r = Reader::new(h);
    let magic = r.u64()?;
    if magic != IHAVEOPT {
        return Err(ProtoError::BadMagic(magic));
    }
    Ok((r.u32()?, r.u32()?))
}

/// A transmission request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub flags: u16,
    pub kind: u16,
    pub cookie: u64,
    pub offset: u64,
    pub length: u32,
}

pub fn parse_request(h: &[u8; REQUEST_HEADER_LEN]) -> Result<Request, ProtoError> {
    let mut r = Reader::new(h);
    let magic = r.u32()?;
    if magic != REQUEST_MAGIC {
        return Err(ProtoError::BadMagic(magic as u64));
    }
    Ok(Request {
        flags: r.u16()?,
        kind: r.u16()?,
        cookie: r.u64()?,
        offset: r.u64()?,
        length: r.u32()?,
    })
}

/// `option reply magic | option | type | length | data`.
pub fn option_reply(option: u32, kind: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(20 + data.len());
    out.extend_from_slice(&OPTION_REPLY_MAGIC.to_be_bytes());
    out.extend_from_slice(&option.to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
    out
}

pub fn simple_reply(error: u32, cookie: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    out.extend_from_slice(&SIMPLE_REPLY_MAGIC.to_be_bytes());
    out.extend_from_slice(&error.to_be_bytes());
    out.extend_from_slice(&cookie.to_be_bytes());
    out
}

/// A structured reply chunk's header (the payload follows).
pub fn chunk_header(out: &mut Vec<u8>, flags: u16, kind: u16, cookie: u64, len: u32) {
    out.extend_from_slice(&STRUCTURED_REPLY_MAGIC.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&cookie.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
}

/// A structured error chunk (always the last chunk).
pub fn error_chunk(cookie: u64, error: u32, message: &str) -> Vec<u8> {
    let msg = &message.as_bytes()[..message.len().min(4096)];
    let mut out = Vec::new();
    chunk_header(
        &mut out,
        REPLY_FLAG_DONE,
        REPLY_TYPE_ERROR,
        cookie,
        6 + msg.len() as u32,
    );
    out.extend_from_slice(&error.to_be_bytes());
    out.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    out.extend_from_slice(msg);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_requests_parse_and_refuse_garbage() {
        let mut data = Vec::new();
        data.extend_from_slice(&3u32.to_be_bytes());
        data.extend_from_slice(b"abc");
        data.extend_from_slice(&2u16.to_be_bytes());
        data.extend_from_slice(&INFO_BLOCK_SIZE.to_be_bytes());
        data.extend_from_slice(&INFO_NAME.to_be_bytes());
        assert_eq!(
            parse_info_request(&data).unwrap(),
            InfoRequest {
                name: "abc".into(),
                infos: vec![INFO_BLOCK_SIZE, INFO_NAME]
            }
        );
        assert_eq!(
            parse_info_request(&data[..data.len() - 1]),
            Err(ProtoError::Truncated)
        );
        let mut long = data.clone();
        long.push(0);
        assert!(parse_info_request(&long).is_err());
        let mut huge = vec![0xff; 4];
        huge.extend_from_slice(b"x");
        assert_eq!(parse_info_request(&huge), Err(ProtoError::Truncated));
    }

    #[test]
    fn requests_parse_and_bad_magic_is_refused() {
        let mut h = [0u8; REQUEST_HEADER_LEN];
        h[..4].copy_from_slice(&REQUEST_MAGIC.to_be_bytes());
        h[4..6].copy_from_slice(&CMD_FLAG_FUA.to_be_bytes());
        h[6..8].copy_from_slice(&CMD_WRITE.to_be_bytes());
        h[8..16].copy_from_slice(&7u64.to_be_bytes());
        h[16..24].copy_from_slice(&4096u64.to_be_bytes());
        h[24..28].copy_from_slice(&512u32.to_be_bytes());
        let r = parse_request(&h).unwrap();
        assert_eq!(
            (r.flags, r.kind, r.cookie, r.offset, r.length),
            (CMD_FLAG_FUA, CMD_WRITE, 7, 4096, 512)
        );
        h[0] = 0;
        assert!(matches!(parse_request(&h), Err(ProtoError::BadMagic(_))));
    }

    #[test]
    fn meta_context_queries() {
        let mut data = Vec::new();
        data.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(b"e");
        data.extend_from_slice(&1u32.to_be_bytes());
        data.extend_from_slice(&(BASE_ALLOCATION.len() as u32).to_be_bytes());
        data.extend_from_slice(BASE_ALLOCATION.as_bytes());
        let m = parse_meta_context_request(&data).unwrap();
        assert_eq!(m.queries, vec![BASE_ALLOCATION.to_string()]);
        assert!(query_matches_base_allocation(&m.queries[0]));
        assert!(!query_matches_base_allocation("qemu:dirty-bitmap:x"));
    }
}
