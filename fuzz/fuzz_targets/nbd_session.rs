//! A whole NBD session with arbitrary client bytes: the handshake and the
//! transmission phase over an in-memory stream, against an export backed by
//! memory. Whatever the client sends, the server answers or closes; it never
//! panics and never hangs.
#![no_main]

use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use platter_backend::{DataPath, ExportSpec, MemoryBackend, Qos, StorageBackend};
use platter_nbd::Exports;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let backend = Arc::new(MemoryBackend::new());
        backend.create_volume("v", 1 << 20).expect("volume");
        let exports = Exports::new(backend);
        exports.publish(ExportSpec { name: "e".into(), volume_id: "v".into(), pool: platter_backend::DEFAULT_POOL.into(), replica_pool: None, read_only: false }, Qos::default());
        let (client, server) = tokio::io::duplex(1 << 16);
        let task = tokio::spawn(platter_nbd::handle_connection(server, exports));
        let (mut rd, mut wr) = tokio::io::split(client);
        let reader = tokio::spawn(async move {
            let mut sink = Vec::new();
            let _ = rd.read_to_end(&mut sink).await;
        });
        let _ = wr.write_all(data).await;
        let _ = wr.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        drop(wr);
        let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
    });
});
