// bittorrent-dht (an ES module) ships no types: the Mainline rendezvous (nat/mainline-rendezvous.ts)
// types the part it uses itself. Declared here so that its import() names the package statically,
// which the extension's bundler then bundles.
declare module "bittorrent-dht" {
  const DHT: unknown;
  export default DHT;
}
