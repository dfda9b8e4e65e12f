// Public surface of the native socket layer.
export { native, loadAddon, addonCandidates, NativeUnavailableError, ADDON_FILE, type NativeAddon } from './addon.js';
export { RawSocket, type ReceivedMessage, type ReceiveSizes } from './raw-socket.js';
export * from './sockaddr.js';
export * from './cmsg.js';
export * from '../util/inet.js';
export { errnoName, describeErrno, SystemError, Errno } from './errno.js';
export * as C from './constants.js';
