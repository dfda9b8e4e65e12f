// keepalived 2.2.7's D-Bus objects, as it exports them (measured with gdbus against it): the path
// of each object, the introspection XML of every node of the tree (GDBus's layout: the standard
// interfaces, then keepalived's, then the child nodes), and the values of the properties.
// Pure: the instances in, paths and texts out.

export const SERVICE_NAME = 'org.keepalived.Vrrp1';
export const VRRP_INTERFACE = 'org.keepalived.Vrrp1.Vrrp';
export const INSTANCE_INTERFACE = 'org.keepalived.Vrrp1.Instance';
export const ROOT_PATH = '/org/keepalived/Vrrp1';

/** What the objects read of a running VRRP instance. */
export interface DbusInstance {
  name: string;
  /** the configured interface (not the VMAC): keepalived's base interface */
  interface: string;
  vrid: number;
  family: 4 | 6;
  state: string;
}

/** keepalived's state numbers: the State property and VrrpStatusChange's argument. */
export function stateCode(state: string): number | undefined {
  switch (state) {
    case 'INIT':
      return 0;
    case 'BACKUP':
      return 1;
    case 'MASTER':
      return 2;
    case 'FAULT':
      return 3;
    case 'STOP':
      return 98;
    default:
      return undefined;
  }
}

/** keepalived's state_str(): the State property's text. */
export function stateText(state: string): string {
  return { INIT: 'Init', BACKUP: 'Backup', MASTER: 'Master', FAULT: 'Fault' }[state] ?? 'Unknown';
}

/** Only A-Z a-z 0-9 _ are valid in a path element: keepalived turns every other character into '_'. */
export function pathElement(text: string): string {
  return text.replace(/[^A-Za-z0-9]/g, '_');
}

/** The prefix of every object: keepalived adds net_namespace and the root `instance` name when set. */
export function basePath(opts: { netNamespace?: string; instance?: string } = {}): string {
  return [ROOT_PATH, opts.netNamespace, opts.instance].filter(Boolean).join('/');
}

export function vrrpPath(base: string): string {
  return `${base}/Vrrp`;
}

export function instancePath(base: string, i: Pick<DbusInstance, 'interface' | 'vrid' | 'family'>): string {
  return `${base}/Instance/${pathElement(i.interface)}/${i.vrid}/IPv${i.family}`;
}

const DOCTYPE =
  '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n' +
  '                      "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n' +
  '<!-- tskeepalived -->\n';

const STANDARD = `  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="out"/>
    </method>
    <method name="GetAll">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="a{sv}" name="properties" direction="out"/>
    </method>
    <method name="Set">
      <arg type="s" name="interface_name" direction="in"/>
      <arg type="s" name="property_name" direction="in"/>
      <arg type="v" name="value" direction="in"/>
    </method>
    <signal name="PropertiesChanged">
      <arg type="s" name="interface_name"/>
      <arg type="a{sv}" name="changed_properties"/>
      <arg type="as" name="invalidated_properties"/>
    </signal>
  </interface>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect">
      <arg type="s" name="xml_data" direction="out"/>
    </method>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
    <method name="GetMachineId">
      <arg type="s" name="machine_uuid" direction="out"/>
    </method>
  </interface>
`;

const VRRP_XML = `  <interface name="${VRRP_INTERFACE}">
    <method name="PrintData"/>
    <method name="PrintStats"/>
    <method name="PrintStatsClear"/>
    <method name="ReloadConfig"/>
    <signal name="VrrpStarted"/>
    <signal name="VrrpReloaded"/>
    <signal name="VrrpStopped"/>
  </interface>
`;

const INSTANCE_XML = `  <interface name="${INSTANCE_INTERFACE}">
    <method name="SendGarp"/>
    <signal name="VrrpStatusChange">
      <arg type="u" name="status"/>
    </signal>
    <property type="s" name="Name" access="read"/>
    <property type="(us)" name="State" access="read"/>
  </interface>
`;

/** The methods and properties each of keepalived's interfaces has (what calls are checked against). */
export const INTERFACES: Record<string, { methods: string[]; properties: Record<string, string> }> = {
  [VRRP_INTERFACE]: { methods: ['PrintData', 'PrintStats', 'PrintStatsClear', 'ReloadConfig'], properties: {} },
  [INSTANCE_INTERFACE]: { methods: ['SendGarp'], properties: { Name: 's', State: '(us)' } },
};

/** The object tree: each exported path and the interface it implements. */
export function objectTree(base: string, instances: Pick<DbusInstance, 'interface' | 'vrid' | 'family'>[]): Map<string, string> {
  const out = new Map<string, string>([[vrrpPath(base), VRRP_INTERFACE]]);
  for (const i of instances) out.set(instancePath(base, i), INSTANCE_INTERFACE);
  return out;
}

/** The XML Introspect answers at `path`: its interfaces if it is an object, and its child nodes in the order their objects were exported (the Vrrp object, then the instances in config order, as keepalived registers them). */
export function introspect(path: string, tree: Map<string, string>): string {
  const iface = tree.get(path);
  const prefix = path === '/' ? '/' : `${path}/`;
  const children = new Set<string>();
  for (const p of tree.keys()) if (p.startsWith(prefix) && p.length > prefix.length) children.add(p.slice(prefix.length).split('/')[0]);
  let xml = `${DOCTYPE}<node>\n`;
  if (iface) xml += STANDARD + (iface === VRRP_INTERFACE ? VRRP_XML : INSTANCE_XML);
  for (const c of children) xml += `  <node name="${c}"/>\n`;
  return `${xml}</node>\n`;
}
