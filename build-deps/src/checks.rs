//! The checks of the build-dependency analysis, declared once: the wheels
//! gate lists them among its own, and their enum is the only way the
//! analysis builds an item.

gate_core::check_catalogue! {
    /// The checks of the analysis, in `--list-gates` order.
    pub enum Check {
        BuildCycle = "build-cycle" {
            severity: Blocker,
            summary: "No build from source (`--no-binary :all:`) needs, in its build environment, the release it builds, on any target Python, as the modelled pip builds (opt-in: [gates.wheels.build-deps]).",
            remedy: "Read the cycle's path: hold the release that brought the edge to a version without it in a constraints file that reaches build environments (`constraints`, PIP_CONSTRAINT), or allow a binary wheel for one member of the cycle (`only-binary`).",
        },
        UnpinnedBuildDep = "unpinned-build-dep" {
            severity: Blocker,
            summary: "Everything a build installs is pinned: with build isolation, every member of each isolated build environment is held to one version by a constraints file that reaches it (the repository's requirements files do not); without isolation, or for a legacy setup.py build, the build requirements provide every build need.",
            remedy: "Pin it with `==` in a constraints file given as `constraints` (and to pip as PIP_CONSTRAINT), or build without isolation from the pinned build requirements.",
        },
        Index = "index" {
            severity: Blocker,
            summary: "The package index answers for every distribution of the closure: its project page, a matching sdist, its files with the listed SHA-256.",
            remedy: "Check index-url, the network or the cache (offline); pin a version the index has as of the date.",
        },
        BuildMetadata = "build-metadata" {
            severity: Blocker,
            summary: "Each distribution's needs are known statically: requirements files parse, and the index metadata file, PKG-INFO, pyproject.toml or setup.cfg give its build and run-time requirements.",
            remedy: "Fix the requirement at the reported place, or pin a version whose metadata is static (Metadata 2.2).",
        },
        Closure = "build-closure" {
            severity: Warning,
            summary: "The resolved build-dependency closure (name==version of every distribution) is recorded in the report; with `baseline`, every version that changed since that report is listed.",
            remedy: "A changed build dependency is where a new build failure usually comes from: `release-check bisect` names the upload that changed the analysis.",
        },
    }
}
