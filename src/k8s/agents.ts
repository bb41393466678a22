// The sockets the KubeClient talks over: one keep-alive pool for requests and a fresh connection per watch (a
// watch holds its connection for minutes), both through the cluster's `proxy-url` when the kubeconfig names one.
//
// kubectl (client-go) reads `proxy-url` per cluster and supports http, https and socks5 proxies: for an https API
// server an http(s) proxy is asked to CONNECT a tunnel, and TLS to the API server runs inside it, so the proxy
// never sees the credentials. Unlike client-go, a missing `proxy-url` does not fall back to HTTPS_PROXY from the
// environment: Pitstop reaches the cluster it was configured for, never a proxy inherited from its host.
import http from 'node:http';
import https from 'node:https';
import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';
import { SocksProxyAgent } from 'socks-proxy-agent';

export interface Agents {
  /** Keep-alive pool for ordinary requests. */
  requests: http.Agent;
  /** For watches: false = a socket of its own per watch (no pool to hold it in). */
  watches: http.Agent | false;
}

const POOL = { keepAlive: true, maxSockets: 64 };

/** The agents for `server` (its URL), tunnelling through `proxyUrl` when given. */
export function makeAgents(server: string, proxyUrl?: string): Agents {
  const isHttps = server.startsWith('https:');
  if (!proxyUrl) {
    return { requests: isHttps ? new https.Agent(POOL) : new http.Agent({ keepAlive: true }), watches: false };
  }
  const proxy = new URL(proxyUrl);
  if (proxy.protocol === 'socks5:' || proxy.protocol === 'socks5h:' || proxy.protocol === 'socks:') {
    return { requests: new SocksProxyAgent(proxy, POOL), watches: new SocksProxyAgent(proxy) };
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new Error(`proxy-url scheme ${proxy.protocol} is not supported (http, https or socks5)`);
  }
  const Tunnel = isHttps ? HttpsProxyAgent : HttpProxyAgent;
  return {
    requests: new Tunnel({ ...POOL, proxy }),
    watches: new Tunnel({ keepAlive: false, maxSockets: Infinity, proxy }),
  };
}
