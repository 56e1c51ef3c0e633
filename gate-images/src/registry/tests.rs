//! Unit tests of the registry client's parsing and addressing.

use super::*;

#[test]
fn challenges_with_quotes_commas_and_escapes() {
    let header = r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#;
    let parsed = parse_challenges(header).unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].scheme, "Bearer");
    assert_eq!(parsed[0].param("realm"), Some("https://auth.example/token"));
    assert_eq!(parsed[0].param("service"), Some("registry.example"));
    assert_eq!(parsed[0].param("scope"), Some("repository:a/b:pull,push"));

    let parsed =
        parse_challenges(r#"Basic realm="a \"b\", c" , Bearer Realm=x,error=insufficient_scope"#).unwrap();
    let schemes: Vec<&str> = parsed.iter().map(|c| c.scheme.as_str()).collect();
    assert_eq!(schemes, ["Basic", "Bearer"]);
    assert_eq!(parsed[0].param("realm"), Some(r#"a "b", c"#));
    assert_eq!(parsed[1].param("realm"), Some("x"));
    assert_eq!(parsed[1].param("error"), Some("insufficient_scope"));

    assert_eq!(parse_challenges("Negotiate").unwrap()[0].params, []);
    assert!(parse_challenges(r#"Bearer realm="open"#).unwrap_err().to_string().contains("unterminated"));
    assert!(parse_challenges(r#"Bearer realm="a" x"#).unwrap_err().to_string().contains("unexpected `x`"));
    assert!(parse_challenges("=x").unwrap_err().to_string().contains("scheme"));
}

#[test]
fn registry_hosts_follow_the_reference_grammar() {
    for good in ["quay.io", "127.0.0.1:5000", "localhost", "localhost:5000", "registry.example:443"] {
        assert_eq!(RegistryHost::try_from(good.to_owned()).unwrap().as_str(), good);
    }
    for bad in ["", "quay", "quay.io/org", "http://quay.io", "quay.io:", "host:port", "a b", "x@y"] {
        assert!(
            RegistryHost::try_from(bad.to_owned())
                .unwrap_err()
                .to_string()
                .contains("expected `host` or `host:port`"),
            "{bad}"
        );
    }
}

#[test]
fn docker_hub_is_asked_at_its_api_host() {
    let image = reference::parse(&format!("debian@sha256:{}", "a".repeat(64))).unwrap();
    let target = Target::of(&image).unwrap();
    let client = Client::new(Options::default(), &[]);
    assert_eq!(
        client.manifest_url(&target),
        format!("https://registry-1.docker.io/v2/library/debian/manifests/sha256:{}", "a".repeat(64))
    );
    assert_eq!(target.to_string(), format!("docker.io/library/debian@sha256:{}", "a".repeat(64)));
    assert_eq!(Target::of(&reference::parse("debian:12").unwrap()), None);
    let insecure = [RegistryHost::try_from("127.0.0.1:5000".to_owned()).unwrap()];
    let image = reference::parse(&format!("127.0.0.1:5000/a/b@sha256:{}", "b".repeat(64))).unwrap();
    assert!(
        Client::new(Options::default(), &insecure)
            .manifest_url(&Target::of(&image).unwrap())
            .starts_with("http://127.0.0.1:5000/v2/a/b/manifests/")
    );
}

#[test]
fn credentials_come_as_a_whole_and_never_show() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    };
    assert_eq!(Credentials::from_vars(vars(&[])), Ok(None));
    assert_eq!(Credentials::from_vars(vars(&[(ENV_USER, "u")])), Err(CredentialsError::Incomplete));
    assert_eq!(
        Credentials::from_vars(vars(&[(ENV_USER, "u"), (ENV_PASSWORD, "p")])),
        Err(CredentialsError::NoHost)
    );
    assert!(matches!(
        Credentials::from_vars(vars(&[(ENV_USER, "u"), (ENV_PASSWORD, "p"), (ENV_HOST, "quay")])),
        Err(CredentialsError::BadHost(_))
    ));
    let credentials = Credentials::from_vars(vars(&[
        (ENV_USER, "robot"),
        (ENV_PASSWORD, "s3cret-value"),
        (ENV_HOST, "quay.io"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(credentials.basic(), "Basic cm9ib3Q6czNjcmV0LXZhbHVl");
    let shown = format!("{credentials:?}");
    assert!(shown.contains("robot") && !shown.contains("s3cret"), "{shown}");
}
