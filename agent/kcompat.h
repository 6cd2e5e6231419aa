/* kcompat.h - kernel uapi values newer than Debian 12's headers (linux 6.1).
 * The one place such constants live; each is the kernel's own value. */
#ifndef ISOL_KCOMPAT_H
#define ISOL_KCOMPAT_H

#include <linux/netfilter/nf_tables.h>

/* include/uapi/linux/netfilter/nf_tables.h, linux 6.9: an owned table that
 * outlives its owner's socket (orphaned, re-adoptable). */
#ifndef NFT_TABLE_F_PERSIST
#define NFT_TABLE_F_PERSIST 0x4
#endif
#ifndef NFT_TABLE_F_OWNER
#define NFT_TABLE_F_OWNER 0x2
#endif

/* linux 6.3: "destroy" = delete that ignores ENOENT (enum nf_tables_msg_types). */
#define ISOL_NFT_MSG_DESTROYTABLE 26
#define ISOL_NFT_MSG_DESTROYCHAIN 27
#define ISOL_NFT_MSG_DESTROYSETELEM 30

/* set element comment in NFTA_SET_ELEM_USERDATA, as nft writes it
 * (nftables include/udata: NFTNL_UDATA_SET_ELEM_COMMENT). */
#define ISOL_UDATA_SET_ELEM_COMMENT 0
/* rule comment in NFTA_RULE_USERDATA (NFTNL_UDATA_RULE_COMMENT) */
#define ISOL_UDATA_RULE_COMMENT 0

/* nft's datatype ids (nftables include/datatype.h), for key types that
 * `nft list` can print: concatenations are (a << 12) | (b << 6) | c. */
#define ISOL_TYPE_VERDICT 1
#define ISOL_TYPE_IPADDR 7
#define ISOL_TYPE_IP6ADDR 8
#define ISOL_TYPE_INET_PROTOCOL 12
#define ISOL_TYPE_INET_SERVICE 13
#define ISOL_TYPE_MARK 19
#define ISOL_TYPE_BITS 6

#endif
