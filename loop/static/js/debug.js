// `window.loopDebug`: a small, read-only window onto the call for tests and for people
// debugging a call from the browser console.
//
//   loopDebug.peerIds()          -> ids of the members this page has a connection to
//   loopDebug.connectionStates() -> {peerId: RTCPeerConnection.connectionState}
//   loopDebug.framesDecoded()    -> Promise<{peerId: video frames decoded so far}>
//                                   (sum of inbound-rtp video `framesDecoded` in getStats())
//   loopDebug.candidateTypes()   -> Promise<{peerId: local candidate type of the pair in use}>

export function expose(getMesh) {
  const peers = () => [...(getMesh()?.peers.values() || [])];
  globalThis.loopDebug = Object.freeze({
    selfId: () => getMesh()?.selfId ?? null,
    peerIds: () => peers().map((peer) => peer.id),
    connectionStates: () =>
      Object.fromEntries(peers().map((peer) => [peer.id, peer.pc.connectionState])),
    framesDecoded: async () => {
      const entries = await Promise.all(
        peers().map(async (peer) => {
          let frames = 0;
          (await peer.pc.getStats()).forEach((report) => {
            if (report.type === "inbound-rtp" && report.kind === "video") {
              frames += report.framesDecoded || 0;
            }
          });
          return [peer.id, frames];
        }),
      );
      return Object.fromEntries(entries);
    },
    candidateTypes: async () => {
      const entries = await Promise.all(
        peers().map(async (peer) => [peer.id, await selectedCandidateType(peer.pc)]),
      );
      return Object.fromEntries(entries);
    },
  });
}

async function selectedCandidateType(pc) {
  const stats = await pc.getStats();
  let type = null;
  stats.forEach((report) => {
    if (report.type === "transport" && report.selectedCandidatePairId) {
      const pair = stats.get(report.selectedCandidatePairId);
      type = stats.get(pair?.localCandidateId)?.candidateType ?? null;
    }
  });
  return type;
}
