// Whether the D-Bus service runs and under which name and path prefix: global_defs' enable_dbus
// and dbus_service_name (kept in GlobalDefs.raw by the config builder), and the root keywords
// net_namespace and instance that keepalived puts into every object path.
import type { GlobalDefs, RootSettings } from '../config/model.js';
import { SERVICE_NAME } from './objects.js';

export interface DbusSettings {
  enabled: boolean;
  /** dbus_service_name; default org.keepalived.Vrrp1 */
  serviceName: string;
  netNamespace?: string;
  instance?: string;
}

export function dbusSettingsFrom(global: GlobalDefs, root?: RootSettings): DbusSettings {
  const raw = global.raw ?? [];
  const name = [...raw].reverse().find((r) => r.keyword === 'dbus_service_name')?.args[0];
  return {
    enabled: raw.some((r) => r.keyword === 'enable_dbus'),
    serviceName: name || SERVICE_NAME,
    netNamespace: root?.netNamespace,
    instance: root?.instance,
  };
}
