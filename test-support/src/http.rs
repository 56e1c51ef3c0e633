//! Fake HTTP servers on 127.0.0.1 for synchronous tests: a wiremock
//! [`Server`] that runs on its own runtime, so that a test of a blocking
//! client needs no `async`, and [`closed_port`].

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond};

/// A wiremock server and the runtime it runs on; stops on drop. With no
/// mock mounted every request answers 404.
pub struct Server {
    runtime: tokio::runtime::Runtime,
    server: MockServer,
}

impl Server {
    /// Starts a server with nothing mounted.
    pub fn start() -> Self {
        // Two workers: a responder may block (the registry tests' token
        // proxy forwards with a blocking client) while another request is
        // answered.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the fake server");
        let server = runtime.block_on(MockServer::start());
        Self { runtime, server }
    }

    /// Starts a server that answers every request with `respond` (a closure
    /// `Fn(&Request) -> ResponseTemplate` will do), behind any mock mounted
    /// later: the answer of last resort has the lowest priority.
    pub fn answering(respond: impl Respond + 'static) -> Self {
        let server = Self::start();
        server.mount(Mock::given(any()).respond_with(respond).with_priority(u8::MAX));
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.server.address().to_string()
    }

    /// Mounts `mock`.
    pub fn mount(&self, mock: Mock) {
        self.runtime.block_on(mock.mount(&self.server));
    }

    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<Request> {
        self.runtime.block_on(self.server.received_requests()).unwrap_or_default()
    }

    /// Every request received so far as `METHOD /path` or
    /// `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.received().iter().map(request_line).collect()
    }
}

/// `METHOD /path` or `METHOD /path?query`.
pub fn request_line(request: &Request) -> String {
    match request.url.query() {
        Some(query) => format!("{} {}?{query}", request.method, request.url.path()),
        None => format!("{} {}", request.method, request.url.path()),
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then let go), so
/// that connecting to it is refused.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1");
    listener.local_addr().expect("a bound listener has an address").port()
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use wiremock::ResponseTemplate;
    use wiremock::matchers::path;

    use super::*;

    /// One HTTP/1.1 exchange with a plain socket: the answer's text.
    fn get(host: &str, target: &str) -> String {
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(stream, "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn mounted_mocks_come_before_the_answer_of_last_resort_and_requests_are_logged() {
        let server = Server::answering(|_: &Request| ResponseTemplate::new(503));
        server
            .mount(Mock::given(path("/ok")).respond_with(ResponseTemplate::new(200).set_body_string("yes")));
        assert!(get(&server.host(), "/ok?x=1").starts_with("HTTP/1.1 200"));
        assert!(get(&server.host(), "/other").starts_with("HTTP/1.1 503"));
        assert_eq!(server.requests(), ["GET /ok?x=1", "GET /other"]);
        assert_eq!(server.url(), format!("http://{}", server.host()));
    }

    #[test]
    fn a_closed_port_refuses() {
        let refused = std::net::TcpStream::connect(("127.0.0.1", closed_port())).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
