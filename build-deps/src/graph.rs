//! The dependency graph and its build-time cycles, found without recursion
//! so that a graph of any size cannot overflow the stack.
//!
//! Edges are "needs at build time" and "needs at run time". Building a
//! distribution from source needs its build dependencies installed, and
//! installing one needs it built and its run-time dependencies installed; so
//! a cycle through at least one build edge can never be built from source.
//! A cycle made of run-time edges only is harmless.

use std::collections::VecDeque;

/// An edge from node `from` to node `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// The node that needs.
    pub from: usize,
    /// The node needed.
    pub to: usize,
    /// Needed at build time (else at run time).
    pub build: bool,
}

/// The strongly connected component of each of `nodes` nodes, numbered
/// from 0 (Tarjan's algorithm, with an explicit stack).
pub fn components(nodes: usize, edges: &[Edge]) -> Vec<usize> {
    let adjacency = adjacency(nodes, edges);
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; nodes];
    let mut low = vec![0; nodes];
    let mut on_stack = vec![false; nodes];
    let mut component = vec![UNSEEN; nodes];
    let mut stack = Vec::new();
    let (mut next_index, mut next_component) = (0, 0);
    // (node, position in its adjacency list)
    let mut calls: Vec<(usize, usize)> = Vec::new();
    for root in 0..nodes {
        if index[root] != UNSEEN {
            continue;
        }
        calls.push((root, 0));
        while let Some(&(node, position)) = calls.last() {
            if position == 0 && index[node] == UNSEEN {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&edge) = adjacency[node].get(position) {
                if let Some(top) = calls.last_mut() {
                    top.1 += 1;
                }
                let to = edges[edge].to;
                if index[to] == UNSEEN {
                    calls.push((to, 0));
                } else if on_stack[to] {
                    low[node] = low[node].min(index[to]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component[member] = next_component;
                    if member == node {
                        break;
                    }
                }
                next_component += 1;
            }
        }
    }
    component
}

/// The indices of the edges leaving each node.
fn adjacency(nodes: usize, edges: &[Edge]) -> Vec<Vec<usize>> {
    let mut adjacency = vec![Vec::new(); nodes];
    for (i, edge) in edges.iter().enumerate() {
        adjacency[edge.from].push(i);
    }
    adjacency
}

/// The cycles that cannot be built from source: for each build edge inside a
/// strongly connected component and on no cycle given before, the shortest
/// cycle through it, as edge indices starting with that edge. A build edge
/// from a node to itself is a cycle of length 1.
pub fn build_cycles(nodes: usize, edges: &[Edge]) -> Vec<Vec<usize>> {
    let component = components(nodes, edges);
    let adjacency = adjacency(nodes, edges);
    let mut covered = vec![false; edges.len()];
    let mut cycles = Vec::new();
    for (first, edge) in edges.iter().enumerate() {
        if !edge.build || covered[first] || component[edge.from] != component[edge.to] {
            continue;
        }
        let Some(mut cycle) =
            shortest_path(edge.to, edge.from, &adjacency, edges, |n| component[n] == component[edge.from])
        else {
            continue;
        };
        cycle.insert(0, first);
        for &edge in &cycle {
            covered[edge] = true;
        }
        cycles.push(cycle);
    }
    cycles
}

/// The edges of a shortest path from `start` to `goal` through nodes that
/// `allowed` accepts (breadth first); empty when `start` is `goal`.
fn shortest_path(
    start: usize,
    goal: usize,
    adjacency: &[Vec<usize>],
    edges: &[Edge],
    allowed: impl Fn(usize) -> bool,
) -> Option<Vec<usize>> {
    let mut reached_by: Vec<Option<usize>> = vec![None; adjacency.len()];
    let mut visited = vec![false; adjacency.len()];
    let mut queue = VecDeque::from([start]);
    visited[start] = true;
    while let Some(node) = queue.pop_front() {
        if node == goal {
            let mut path = Vec::new();
            let mut at = goal;
            while let Some(edge) = reached_by[at] {
                path.push(edge);
                at = edges[edge].from;
            }
            path.reverse();
            return Some(path);
        }
        for &edge in &adjacency[node] {
            let to = edges[edge].to;
            if !visited[to] && allowed(to) {
                visited[to] = true;
                reached_by[to] = Some(edge);
                queue.push_back(to);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn edge(from: usize, to: usize, build: bool) -> Edge {
        Edge { from, to, build }
    }

    #[test]
    fn a_run_time_cycle_is_harmless_and_a_build_edge_makes_it_a_cycle() {
        let run_only = [edge(0, 1, false), edge(1, 0, false)];
        assert!(build_cycles(2, &run_only).is_empty());
        // scm -run-> imeta -build-> scm, entered from app -build-> scm.
        let edges = [edge(2, 0, true), edge(0, 1, false), edge(1, 0, true)];
        assert_eq!(build_cycles(3, &edges), [vec![2, 1]]);
    }

    #[test]
    fn a_self_build_dependency_is_a_cycle_of_length_one() {
        assert_eq!(build_cycles(1, &[edge(0, 0, true)]), [vec![0]]);
        assert!(build_cycles(1, &[edge(0, 0, false)]).is_empty());
    }

    #[test]
    fn two_cycles_through_one_component_are_both_reported() {
        // 0 -build-> 1 -run-> 0 and 0 -build-> 2 -run-> 0
        let edges = [edge(0, 1, true), edge(1, 0, false), edge(0, 2, true), edge(2, 0, false)];
        assert_eq!(build_cycles(3, &edges), [vec![0, 1], vec![2, 3]]);
    }

    #[test]
    fn ten_thousand_nodes_do_not_overflow() {
        let n = 10_000;
        let mut edges: Vec<Edge> = (0..n - 1).map(|i| edge(i, i + 1, i % 2 == 0)).collect();
        assert!(build_cycles(n, &edges).is_empty());
        let components = components(n, &edges);
        assert_eq!(components.iter().collect::<BTreeSet<_>>().len(), n);
        // Closing the chain makes one cycle through all 10,000 nodes.
        edges.push(edge(n - 1, 0, false));
        let cycles = build_cycles(n, &edges);
        assert_eq!(cycles.len(), 1);
        assert_eq!(cycles[0].len(), n);
        assert_eq!(cycles[0][0], 0);
    }
}
