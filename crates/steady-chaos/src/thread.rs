//! Running a server on a thread of its own, so that blocking tests (which run the
//! `steady` binary) and async tests (whose runtime must stay free) can both use it.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A server thread; dropping it stops the server, closes every connection and waits
/// for the thread.
pub(crate) struct ServerThread {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Binds `addr` and runs `serve(listener, stopped)` on a new thread with a
    /// current-thread runtime; `stopped` completes when the handle drops. Returns the
    /// bound address.
    pub(crate) fn spawn<F, Fut>(
        addr: SocketAddr,
        serve: F,
    ) -> std::io::Result<(SocketAddr, ServerThread)>
    where
        F: FnOnce(TcpListener, oneshot::Receiver<()>) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("steady-chaos-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("start the server runtime");
                runtime.block_on(async move {
                    let listener =
                        TcpListener::from_std(std_listener).expect("register the listener");
                    serve(listener, stopped).await;
                });
                // Dropping the runtime cancels every connection task and closes its socket.
            })?;
        Ok((
            addr,
            ServerThread {
                stop: Some(stop),
                thread: Some(thread),
            },
        ))
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
